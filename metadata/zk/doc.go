// Package zk is the ZooKeeper metadata backend: classic Apache Kafka's
// znode layout and JSON, field for field (KAFKA-REFERENCE §1), the
// translations ZK tree -> metadata records and records -> ZK writes (shared
// with the migration), Backend, which gives a zkraft broker in ZooKeeper
// mode the same metadata.Image a quorum-mode broker gets, and Source, the
// ZooKeeper-mode broker's metadata source around it: start and catch-up,
// registration that waits out a killed predecessor's session
// (RegisterBrokerWait), images handed to the broker only once it is
// registered (from one full delta on), and the broker's side of controlled
// shutdown (ShutdownBroker: ControlledShutdown over the Kafka protocol to
// the /controller broker). It imports nothing of the broker tree; the
// broker's fetchers are stopped through a callback.
// (Imported as zk; it imports github.com/go-zookeeper/zk as gozk.)
//
// # Layout (paths relative to the chroot; docs/zookeeper-layout.md has all)
//
//	/cluster/id                              {"version":"1","id":"<22-char uuid>"}
//	/controller                    EPHEMERAL {"version":2,"brokerid":1,"timestamp":"<ms>","kraftControllerEpoch":-1}
//	/controller_epoch                        7            (plain ASCII; zkVersion fences controller writes)
//	/brokers/ids/<id>              EPHEMERAL v5 {"version":5,"host":..,"port":..,"jmx_port":-1,"timestamp":"<ms>",
//	                                         "endpoints":["PLAINTEXT://h:p"],"listener_security_protocol_map":{..},
//	                                         "features":{..}}        czxid = broker epoch
//	/brokers/topics/<t>                      v3 {"version":3,"partitions":{"0":[1,2]},"adding_replicas":{},
//	                                         "removing_replicas":{},"topic_id":"<uuid>"}
//	/brokers/topics/<t>/partitions/<p>/state {"version":1,"leader":1,"leader_epoch":0,"controller_epoch":1,"isr":[1,2]}
//	                                         zkVersion = partition epoch
//	/admin/delete_topics/<t>, /config/{topics,brokers,...}/<n>, /config/changes/config_change_N,
//	/latest_producer_id_block, /feature, /migration, /isr_change_notification, ...
//	/config/users/<sanitized user>           {"version":1,"config":{"SCRAM-SHA-256":"salt=..,stored_key=..,
//	                                         server_key=..,iterations=4096"}}   (security.go)
//	/kafka-acl/<Type>/<name>, /kafka-acl-extended/prefixed/<Type>/<name>
//	                                         {"version":1,"acls":[{"principal":..,"permissionType":"Allow",
//	                                         "operation":"Read","host":"*"}]}
//	/kafka-acl-changes/acl_changes_N "TOPIC:foo"; /kafka-acl-extended-changes/acl_changes_N {..JSON..}
//
// ACLs read from ZooKeeper get content ids (AclID); images are compared by
// ACL content wherever a tree meets a log (SecurityRecords, SecurityOps).
//
// # Who writes what
//
//   - Every broker: its ephemeral /brokers/ids/<id> (Kafka's checked
//     ephemeral: multi(create, setData version 0)), /cluster/id if missing,
//     the persistent paths; on behalf of clients, as Kafka's ZooKeeper-mode
//     brokers do: /config/topics/<t> + /brokers/topics/<t> (CreateTopics),
//     /admin/delete_topics/<t> (DeleteTopics), /brokers/topics/<t> at its
//     zkVersion (CreatePartitions), /admin/preferred_replica_election
//     (a PREFERRED ElectLeaders; the controller deletes it), a conditional setData of
//     /latest_producer_id_block (producer ids), /config/topics/<t> and
//     /config/brokers/<id|<default>> as a read-modify-write at the
//     znode's version, retried on BadVersion (IncrementalAlterConfigs,
//     AlterConfigs: configs_admin.go), and the partition leader's
//     ISR change as setData(state, expected version = partition epoch)
//     (AlterPartition; pre-KIP-497 ZooKeeper style, no controller RPC).
//   - The controller (winner of the /controller election: one multi that
//     creates the ephemeral /controller and bumps /controller_epoch at its
//     zkVersion): partition states for new topics and partitions, topic ids
//     for topics written without one, new leaders when a broker's
//     registration disappears or returns, topic deletions. EVERY controller
//     write is multi(Check(/controller_epoch, zkVersion), op...): a zombie
//     controller (session expired while paused) writes nothing, gets
//     ErrControllerMoved and resigns. The controller also serves
//     ControlledShutdown (shutdown.go): the stopping broker's leaderships
//     move to other ISR members and it leaves the ISRs, written the same
//     way, before the broker deregisters.
//   - Bounced brokers: a broker whose /brokers/ids/<id> czxid changed since
//     the controller's last complete pass (restarted, or re-registered on a
//     new session, without the controller seeing the znode missing) is
//     handled as Kafka's processBrokerChange handles "bounced" brokers:
//     failed (out of ISRs and leadership, leader epochs bumped), then
//     started. The new incarnation never inherits the old one's leader
//     epoch. (At a failover the new controller has no earlier epochs to
//     compare with, as in Kafka.)
//
// # How brokers see metadata: watches, not LeaderAndIsr pushes
//
// Each broker keeps its image from the tree with ZooKeeper watches (the
// controller sends no LeaderAndIsr/UpdateMetadata): child watches on
// /brokers/ids, /brokers/topics, /config/changes, /admin/delete_topics; data
// watches on every broker znode, topic znode and partition state (an exists
// watch while a state is missing), and /controller,
// /latest_producer_id_block. Changed znodes are re-read, turned into records
// (RegisterBroker/UnregisterBroker, Topic/Partition/RemoveTopic, Config,
// ProducerIds) against the current image, replayed into a Delta and
// published. A topic enters the image once it has a topic id and a state for
// every partition. Cost: one watch per partition per broker.
//
// # Goroutines
//
// Backend owns one loop goroutine (started by Start, ended by Close) that
// owns the tree, publishes images and runs the election and the controller
// (including ControlledShutdown requests, handed to it on a channel and
// answered on a buffered one, so the loop never blocks on a caller).
// go-zookeeper's own goroutines deliver events to a non-blocking queue
// (eventQueue); Close closes the connection and waits until they have ended
// (CloseWait: the library closes its event channel last). Loading the tree
// starts LoadConcurrency short-lived readers (per reader session with
// LoadTreeFrom, which sets no data watches), joined before it returns.
// Callers of CreateTopics etc. write from their own goroutine and wait for
// the image. Source starts no goroutine of its own: the Backend's loop
// calls its publisher under Source.mu (docs/lock-ordering.md);
// ShutdownBroker's Kafka client lives for one request.
//
// # Invariants
//
//   - zkVersion of a state znode == PartitionEpoch in the image; czxid of
//     /brokers/ids/<id> == broker epoch.
//   - Publishers are called from the loop only, in order; the first call is
//     the whole tree as a delta from the empty image.
//   - No decoder panics on ZooKeeper data (FuzzDecoders); undecodable znodes
//     are logged and left out of the image.
package zk

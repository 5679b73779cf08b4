// Package topics is `zkraft topics`: list, describe, create, delete and
// grow topics the way Kafka's kafka-topics.sh does, speaking only the Kafka
// protocol (kmsg requests through a franz-go kgo client). It works against
// zkraft in any mode (quorum, ZooKeeper, during a migration) and against any
// Kafka broker; it imports nothing of zkraft's.
//
// # Commands and the requests they send
//
//	--list       Metadata (all topics)                      names, sorted, one a line
//	--describe   Metadata (all, or the one --topic names)   Kafka's describe format;
//	             --under-replicated-partitions: only the partition lines
//	             with ISR < replicas, no topic lines
//	             DescribeConfigs (topic resources)          non-default configs only
//	--create     CreateTopics (-1 = the broker's default partitions / RF)
//	--delete     DeleteTopics
//	--alter      ApiVersions: CreatePartitions (key 37) must be offered, else
//	             ErrUnsupported naming the API; then CreatePartitions
//
// Every command first sends a broker-only Metadata request (kgo Ping) so an
// unreachable --bootstrap-server fails at once with the dial error.
//
// # --topic
//
// A --topic made only of topic-name characters [a-zA-Z0-9._-] names one
// topic exactly ('.' is not a wildcard), and the request names it, so the
// broker's own error (UNKNOWN_TOPIC_OR_PARTITION, TOPIC_ALREADY_EXISTS, ...)
// is what the operator sees. Anything else is a regular expression matched
// against whole names (Kafka's IncludeList: commas separate alternatives,
// spaces and surrounding quotes are dropped); the matching topics are found
// with Metadata first, and no match is ErrNoTopic unless --if-exists.
//
// # Output
//
// Describe prints, per topic, Kafka's line
//
//	Topic: T<TAB>TopicId: ID<TAB>PartitionCount: N<TAB>ReplicationFactor: R<TAB>Configs: k=v,...
//
// (TopicId left out when the broker sends none) then one line per partition
//
//	<TAB>Topic: T<TAB>Partition: P<TAB>Leader: L|none<TAB>Replicas: 1,2,3<TAB>Isr: 1,2,3
//
// Topic ids are Kafka's base64url without padding. A config is shown when
// its source is not DEFAULT_CONFIG (as Kafka's ConfigEntry.isDefault), so
// broker-level settings such as min.insync.replicas from server.properties
// appear too; names are sorted. --json prints one JSON document instead (an
// array of names, or of topic objects).
//
// # Errors
//
// A per-topic error from the broker is a *KafkaError: "create topic orders:
// TOPIC_ALREADY_EXISTS: <the broker's message>"; errors.Is matches the
// kerr error (kerr.TopicAlreadyExists). Bad command lines wrap ErrUsage and
// print Usage to stderr. Main returns the error; the binary prints it and
// exits 1.
//
// # Goroutines
//
// None of its own. The kgo client's goroutines are stopped (Close) before
// Main returns.
package topics

package server

import (
	"context"
	"net"

	"github.com/zkraft/zkraft/broker"
	"github.com/zkraft/zkraft/broker/replica"
	"github.com/zkraft/zkraft/metadata"
)

// Controller is where a broker's metadata writes go: the client requests it
// forwards (broker.Controller: CreateTopics, DeleteTopics,
// AllocateProducerIDs) and its ISR changes as a partition leader
// (replica.Controller: AlterPartition). The contracts are those two
// interfaces'. A Controller that also implements broker.ControlledShutdowner
// (a ZooKeeper-mode controller candidate) serves other brokers'
// ControlledShutdown requests.
type Controller interface {
	broker.Controller
	replica.Controller
}

// Source is what a broker needs from wherever its metadata lives: the
// controller quorum it follows (quorum mode), the quorum voter it runs
// beside (a combined node), ZooKeeper, or both during a migration. cmd
// builds one; Run drives it. It is declared here, by the broker side, and
// uses only metadata and standard types, so that sources in quorum,
// metadata/zk and migrate implement it without importing the broker tree
// (sourcetest checks any of them).
//
// Contract:
//   - Run calls Start once, then Shutdown at most once (only if Start
//     succeeded), then Close exactly once — Close also when Start failed or
//     was never called, so Close must work on an unstarted Source.
//   - Start connects (or starts raft), registers this broker, and attaches
//     pub: pub sees every image from then on, in order, never concurrently,
//     the first as a delta from the empty image (metadata.Publisher's
//     contract). Start returns once the broker may serve clients: it is
//     registered, its image is caught up with the metadata as it stood when
//     Start began (and published to pub before Start returns), and the
//     controller has unfenced it (the record saying so may reach pub a
//     moment later). It returns ctx's error when ctx ends first.
//   - The Controller methods are called concurrently, from the network
//     goroutines and the replication manager, only after pub received its
//     first image; they return once ctx is done.
//   - Shutdown runs controlled shutdown while the broker still serves: it
//     asks the controller to move this broker's leaderships to other ISR
//     members and take it out of ISRs, and returns once that is done (or
//     ctx ends, with an error). moved is how many partitions with other
//     replicas this broker led when it began; Run then keeps serving
//     Config.ShutdownDrain so clients learn the new leaders. A source whose
//     controller would add a follower back to an ISR while it shuts down
//     (ZooKeeper mode) calls stopFetching first, which stops this broker's
//     replica fetchers for good. A source configured not to run controlled
//     shutdown returns 0, nil.
//   - Close stops publishing (no Publish call is running or will run once
//     it returns), ends every goroutine the source started, and releases
//     what it holds (sessions, raft, connections, shared ports). Run calls
//     it after the listeners are closed and before the broker, replication
//     and logs are.
type Source interface {
	Controller
	Start(ctx context.Context, pub metadata.Publisher) error
	Shutdown(ctx context.Context, stopFetching func()) (moved int, err error)
	Close() error
}

// Runner is the optional part of a Source with a loop of its own (the
// migrating broker re-checks where its images come from). Run runs it in
// its errgroup from after Start until after the listeners closed; ctx ends
// then. A return before that, error or not, stops the node with that error.
type Runner interface {
	Run(ctx context.Context) error
}

// ListenerOpener is the optional part of a Source that opens a broker
// listener itself to share its port: a quorum-mode broker runs memberlist
// gossip on its inter-broker listener's port. Run calls it once per broker
// listener after Start and before the network server starts; ok=false lets
// Run listen on addr itself. The returned listener carries the Kafka
// connections; the network server owns it from then on. What else the
// source opened on the port it closes in Close (after the server closed).
type ListenerOpener interface {
	OpenListener(name, addr string) (ln net.Listener, ok bool, err error)
}

// Epocher is the optional part of a Source that knows the epoch of this
// broker's registration (logged when the broker starts).
type Epocher interface {
	BrokerEpoch() int64
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/zkraft/zkraft/cmd/zkraft/bench"
	"github.com/zkraft/zkraft/cmd/zkraft/meta"
	"github.com/zkraft/zkraft/cmd/zkraft/topics"
)

const usage = `zkraft: a Kafka-compatible broker with ZooKeeper or Raft-quorum metadata.

Usage:
  zkraft serve [server.properties] [--override key=value]...
        run a node; with no file and no overrides, the embedded default:
        one broker+controller in quorum mode on 127.0.0.1:9092, data in ./data
  zkraft bench produce [flags]   produce load generator (see zkraft bench produce -h)
  zkraft bench disk [flags]      sequential write bandwidth of a directory
  zkraft bench metadata [flags]  quorum scale: create partitions, controller failover, snapshots
  zkraft meta dump|shell|diff|zk-diff|<shell command> --dir D|--bootstrap-controller H:P [flags]
        inspect a metadata log directory or a live quorum, read-only (see zkraft meta help)
  zkraft topics --bootstrap-server H:P --list|--describe|--create|--delete|--alter [flags]
        manage topics over the Kafka protocol, as kafka-topics.sh (see zkraft topics --help)
  zkraft migrate status|finalize|rollback [flags]
        ZooKeeper <-> quorum migration, both ways (see zkraft migrate help, docs/migration.md)
  zkraft log-dirs --bootstrap-server H:P --describe [--broker-list 1,2] [--topic-list a,b]
        each broker's log directories and partitions, as kafka-log-dirs.sh's JSON
  zkraft leader-election --bootstrap-server H:P --election-type PREFERRED|UNCLEAN (--topic T --partition P|--all-topic-partitions|--path-to-json-file F)
        elect leaders, as kafka-leader-election.sh
  zkraft delete-records --bootstrap-server H:P --offset-json-file F
        move partitions' log start offsets, as kafka-delete-records.sh
  zkraft configs --bootstrap-server H:P --entity-type T --entity-name N --describe|--alter [flags]
        topic/broker configs, user SCRAM credentials and quotas, as kafka-configs.sh
  zkraft consumer-groups --bootstrap-server H:P --list|--describe|--delete [--group G|--all-groups]
        groups, their committed offsets and lag, as kafka-consumer-groups.sh
  zkraft reassign-partitions --bootstrap-server H:P --generate|--execute|--verify|--cancel|--list [flags]
        move partition replicas between brokers, with Kafka's JSON, as kafka-reassign-partitions.sh
  zkraft quorum --bootstrap-controller H:P describe --status|--replication
        the metadata quorum's leader, epoch, high watermark and each replica's lag (kafka-metadata-quorum.sh)
  zkraft storage random-uuid|format [flags]
        pre-format a quorum-mode node, first SCRAM users included (see zkraft storage help)
  zkraft version
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprint(os.Stderr, ue.usage())
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "zkraft: %v\n", err)
		os.Exit(1)
	}
}

// usageError makes main print a usage text to stderr and exit 2: text, or
// the top-level usage when it is empty.
type usageError struct{ text string }

func (usageError) Error() string { return "usage" }

func (u usageError) usage() string {
	if u.text == "" {
		return usage
	}
	return u.text
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "bench":
		if len(args) > 1 && args[1] == "kfake-serve" {
			return bench.ServeKfake(ctx, args[2:], stdout, stderr)
		}
		return bench.Main(ctx, args[1:], stdout, stderr)
	case "meta":
		meta.Version = version
		return meta.Main(ctx, args[1:], os.Stdin, stdout, stderr)
	case "topics":
		return topics.Main(ctx, args[1:], stdout, stderr)
	case "migrate":
		return migrateMain(ctx, args[1:], stdout, stderr)
	case "configs":
		return configsMain(ctx, args[1:], stdout, stderr)
	case "consumer-groups":
		return groupsMain(ctx, args[1:], stdout, stderr)
	case "quorum":
		return quorumMain(ctx, args[1:], stdout, stderr)
	case "log-dirs":
		return logDirsMain(ctx, args[1:], stdout, stderr)
	case "reassign-partitions":
		return reassignMain(ctx, args[1:], stdout, stderr)
	case "leader-election":
		return leaderElectionMain(ctx, args[1:], stdout, stderr)
	case "delete-records":
		return deleteRecordsMain(ctx, args[1:], stdout, stderr)
	case "storage":
		return storageMain(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "zkraft %s\n", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return usageError{}
	}
}

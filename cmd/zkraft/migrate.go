package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/cmd/zkraft/config"
	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
	"github.com/zkraft/zkraft/metadata/zk"
	"github.com/zkraft/zkraft/migrate"
	"github.com/zkraft/zkraft/quorum"
)

const migrateUsage = `Usage:
  zkraft migrate status   [--zookeeper host:port[/chroot]] [--bootstrap-controller host:port[,host:port]]
        the migration state, brokers registered vs expected, records loaded, last mirrored offset
  zkraft migrate finalize --zookeeper host:port[/chroot] [--timeout 60s]
        ask the active migrating controller to write POST_MIGRATION (no rollback afterwards)
  zkraft migrate rollback --zookeeper host:port[/chroot] [--bootstrap-controller host:port[,host:port]]
        after stopping the controllers: delete /controller and /migration, raise /controller_epoch
        above every partition state's stamp, so ZooKeeper-mode brokers elect a controller again;
        refused once the migration is finalized (ZooKeeper's marker, or the log if it can be read)
--command-config F (Kafka client properties: security.protocol, ssl.*, sasl.*)
dials a TLS controller listener for --bootstrap-controller.
The reverse migration (quorum -> ZooKeeper mode) starts with the controllers' key
zookeeper.metadata.migration.reverse.enable=true and ends with zkraft migrate rollback.
See docs/migration.md.
`

// migrateMain runs `zkraft migrate <sub> [flags]` (args exclude "migrate").
func migrateMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{text: migrateUsage}
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, migrateUsage)
		return nil
	}
	switch args[0] {
	case "status", "finalize", "rollback":
	default:
		fmt.Fprintf(stderr, "zkraft migrate: unknown subcommand %q\n", args[0])
		return usageError{text: migrateUsage}
	}
	fs := flag.NewFlagSet("zkraft migrate "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	zkConnect := fs.String("zookeeper", "", "ZooKeeper connect string host:port[,host:port][/chroot]")
	bootstrap := fs.String("bootstrap-controller", "", "controller addresses host:port[,host:port]")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait")
	commandConfig := fs.String("command-config", "", "Kafka client properties (security.protocol, ssl.*, sasl.*) for --bootstrap-controller")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var sec network.ClientSecurity
	if *commandConfig != "" {
		var err error
		if sec, err = config.LoadClient(*commandConfig); err != nil {
			return fmt.Errorf("migrate %s: %w", args[0], err)
		}
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate %s: unexpected argument %q", args[0], fs.Arg(0))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	switch args[0] {
	case "status":
		if *zkConnect == "" && *bootstrap == "" {
			return errors.New("migrate status: give --zookeeper and/or --bootstrap-controller")
		}
		return migrateStatus(ctx, *zkConnect, *bootstrap, sec, stdout)
	case "finalize":
		if *zkConnect == "" {
			return errors.New("migrate finalize: --zookeeper is required (or restart the controllers without zookeeper.connect)")
		}
		return migrateFinalize(ctx, *zkConnect, *bootstrap, stdout)
	case "rollback":
		if *zkConnect == "" {
			return errors.New("migrate rollback: --zookeeper is required")
		}
		return migrateRollback(ctx, *zkConnect, *bootstrap, sec, stdout)
	}
	return usageError{text: migrateUsage}
}

func dialZk(ctx context.Context, s string) (*gozk.Conn, string, error) {
	servers, chroot, err := zk.ParseConnect(s)
	if err != nil {
		return nil, "", fmt.Errorf("--zookeeper: %w", err)
	}
	conn, err := migrate.Connect(ctx, servers, 10*time.Second, 20*time.Second, zap.NewNop())
	return conn, chroot, err
}

func migrateStatus(ctx context.Context, zkConnect, bootstrap string, sec network.ClientSecurity, w io.Writer) error {
	var zs *migrate.ZkStatus
	if zkConnect != "" {
		conn, chroot, err := dialZk(ctx, zkConnect)
		if err != nil {
			return err
		}
		st, err := migrate.ReadZkStatus(conn, chroot)
		conn.Close()
		if err != nil {
			return err
		}
		zs = &st
		fmt.Fprintf(w, "zookeeper %s\n", zkConnect)
		switch c := st.Controller; {
		case c == nil:
			fmt.Fprintln(w, "  controller:          none")
		case c.IsKRaft():
			fmt.Fprintf(w, "  controller:          KRaft controller %d (kraftControllerEpoch %d)\n", c.BrokerID, c.KRaftControllerEpoch)
		default:
			fmt.Fprintf(w, "  controller:          ZooKeeper-mode broker %d\n", c.BrokerID)
		}
		fmt.Fprintf(w, "  controller_epoch:    %d\n", st.ControllerEpoch)
		if m := st.Migration; m != nil {
			fmt.Fprintf(w, "  /migration:          kraft_controller_id=%d kraft_controller_epoch=%d\n", m.KRaftControllerID, m.KRaftControllerEpoch)
			fmt.Fprintf(w, "  last mirrored offset: %d (epoch %d)\n", m.KRaftMetadataOffset, m.KRaftMetadataEpoch)
		} else {
			fmt.Fprintln(w, "  /migration:          none (not migrating, or rolled back)")
		}
		fmt.Fprintf(w, "  brokers in /brokers/ids: %v\n", st.Brokers)
		if st.FinalizePending {
			fmt.Fprintln(w, "  finalize requested, not yet done")
		}
		if f := st.Finalized; f != nil {
			fmt.Fprintf(w, "  finalized:           yes, by controller %d (ZooKeeper mirrored up to offset %d): no rollback\n",
				f.KRaftControllerID, f.KRaftMetadataOffset)
		}
	}
	if bootstrap == "" {
		return nil
	}
	obs, ls, err := readLogStatus(ctx, bootstrap, sec)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "metadata log (active controller %d at %s)\n", obs.ControllerID, obs.Controller)
	fmt.Fprintf(w, "  state:               %s\n", migrate.StateName(ls.State))
	fmt.Fprintf(w, "  migrating ZooKeeper brokers registered: %v\n", ls.RegisteredBrokers)
	fmt.Fprintf(w, "  quorum-mode brokers: %v\n", ls.KRaftBrokers)
	switch {
	case ls.LoadInProgress > 0:
		fmt.Fprintf(w, "  records loaded:      load in progress, %d records so far\n", ls.LoadInProgress)
	case ls.LoadOffset >= 0:
		fmt.Fprintf(w, "  records loaded:      %d (transaction committed at offset %d)\n", ls.RecordsLoaded, ls.LoadOffset)
	case obs.Snapshot != nil && ls.State != metadata.ZkMigrationPreMigration:
		fmt.Fprintln(w, "  records loaded:      (in the snapshot; the load transaction was compacted)")
	default:
		fmt.Fprintln(w, "  records loaded:      0")
	}
	fmt.Fprintf(w, "  topics/partitions:   %d/%d\n", ls.Topics, ls.Partitions)
	fmt.Fprintf(w, "  log end offset:      %d\n", ls.Offset)
	if zs != nil {
		for _, l := range migrationSummary(*zs, ls) {
			fmt.Fprintln(w, l)
		}
	}
	return nil
}

// migrationSummary is what ZooKeeper and the log together say, in the
// terms of the log's state: which brokers the migration still waits for
// (PRE_MIGRATION, MIGRATION while ZooKeeper-mode brokers remain), that
// every broker runs in quorum mode (after step 4), how far dual-write lags
// (MIGRATION only: after the finalize nothing is mirrored any more).
func migrationSummary(zs migrate.ZkStatus, ls migrate.LogStatus) []string {
	var out []string
	mirrored := int64(-1)
	if zs.Migration != nil {
		mirrored = zs.Migration.KRaftMetadataOffset
	}
	expected := func() string {
		all := append(slices.Clone(ls.RegisteredBrokers), ls.KRaftBrokers...)
		var missing []int32
		for _, id := range zs.Brokers {
			if !slices.Contains(all, id) {
				missing = append(missing, id)
			}
		}
		l := fmt.Sprintf("brokers registered vs expected: %d/%d", len(zs.Brokers)-len(missing), len(zs.Brokers))
		if len(missing) > 0 {
			l += fmt.Sprintf(" (missing %v: restart them with zookeeper.metadata.migration.enable=true)", missing)
		}
		return l
	}
	switch ls.State {
	case metadata.ZkMigrationNone:
		out = append(out, "migration:            none (this metadata log was not created for a migration)")
	case metadata.ZkMigrationPreMigration:
		if len(zs.Brokers) == 0 {
			out = append(out, "brokers registered vs expected: 0/0 (no ZooKeeper-mode broker in /brokers/ids: is --zookeeper's chroot right?)")
		} else {
			out = append(out, expected())
		}
	case metadata.ZkMigrationMigration:
		switch {
		case len(zs.Brokers) > 0:
			out = append(out, expected())
		case len(ls.KRaftBrokers) > 0:
			out = append(out, fmt.Sprintf("brokers:              all in quorum mode %v, none left in /brokers/ids (step 4 done: finalize, or roll back)", ls.KRaftBrokers))
		default:
			out = append(out, "brokers:              none registered, none in /brokers/ids")
		}
		if mirrored >= 0 {
			out = append(out, fmt.Sprintf("dual-write lag:        %d offsets", max(ls.Offset-mirrored, 0)))
		} else {
			out = append(out, "dual-write:           not started (nothing mirrored yet)")
		}
	case metadata.ZkMigrationReverse:
		if len(ls.KRaftBrokers) > 0 {
			out = append(out, fmt.Sprintf("reverse migration:    roll quorum-mode brokers %v to ZooKeeper mode with zookeeper.metadata.migration.enable=true (in ZooKeeper mode: %v)",
				ls.KRaftBrokers, zs.Brokers))
		} else {
			out = append(out, fmt.Sprintf("reverse migration:    every broker in ZooKeeper mode %v: stop the controllers, then zkraft migrate rollback", zs.Brokers))
		}
		out = append(out, fmt.Sprintf("dual-write lag:        %d offsets", max(ls.Offset-mirrored, 0)))
	case metadata.ZkMigrationPostMigration:
		out = append(out, fmt.Sprintf("brokers:              quorum mode %v", ls.KRaftBrokers))
		if len(zs.Brokers) > 0 {
			out = append(out, fmt.Sprintf("  ZooKeeper-mode brokers still in /brokers/ids %v are not part of the cluster", zs.Brokers))
		}
		out = append(out, fmt.Sprintf("dual-write:           stopped at the finalize: ZooKeeper holds the log up to offset %d and is not written again (no rollback)", mirrored))
	}
	return out
}

// readLogStatus reads the committed metadata log of a live quorum
// (read-only) and summarises the migration.
func readLogStatus(ctx context.Context, bootstrap string, sec network.ClientSecurity) (*quorum.ObservedLog, migrate.LogStatus, error) {
	addrs, err := quorum.ParseBootstrap(bootstrap)
	if err != nil {
		return nil, migrate.LogStatus{}, err
	}
	ocfg := quorum.DefaultObserverConfig()
	ocfg.Bootstrap = addrs
	ocfg.Security = sec
	obs, err := quorum.ReadMetadataLog(ctx, ocfg, zap.NewNop())
	if err != nil {
		return nil, migrate.LogStatus{}, err
	}
	var snap []metadata.Record
	if obs.Snapshot != nil {
		snap = obs.Snapshot.Records
	}
	entries := make([]migrate.LogEntry, 0, len(obs.Entries))
	for _, e := range obs.Entries {
		entries = append(entries, migrate.LogEntry{Offset: int64(e.Index), Data: e.Data})
	}
	_, ls, err := migrate.ReplayLog(snap, entries)
	return obs, ls, err
}

func migrateFinalize(ctx context.Context, zkConnect, bootstrap string, w io.Writer) error {
	conn, chroot, err := dialZk(ctx, zkConnect)
	if err != nil {
		return err
	}
	defer conn.Close()
	st, err := migrate.ReadZkStatus(conn, chroot)
	if err != nil {
		return err
	}
	if st.Controller == nil || !st.Controller.IsKRaft() || st.Migration == nil {
		return fmt.Errorf("migrate finalize: no KRaft controller holds /controller with a /migration znode: %w", migrate.ErrWrongState)
	}
	if err := migrate.RequestFinalize(conn, chroot); err != nil {
		return err
	}
	fmt.Fprintln(w, "finalize requested; waiting for the active controller")
	for {
		pending, err := migrate.FinalizePending(conn, chroot)
		if err != nil {
			return err
		}
		if !pending {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("migrate finalize: the active controller did not finalize (is the log in MIGRATION? see its log): %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	fmt.Fprintln(w, "finalized: ZkMigrationState POST_MIGRATION; ZooKeeper is no longer written and rollback is no longer possible")
	fmt.Fprintln(w, "now remove zookeeper.connect and zookeeper.metadata.migration.enable from the controllers and restart them one by one")
	_ = bootstrap
	return nil
}

// rollbackFinalized is why a finalized migration cannot be rolled back.
const rollbackFinalized = `the migration was finalized (POST_MIGRATION): ZooKeeper stopped being written at the finalize,
so ZooKeeper-mode brokers electing a controller on it would serve a stale tree (topics created since missing,
leaders and ISRs out of date). Nothing was changed. Going back to ZooKeeper mode from a finalized cluster takes
the reverse migration: docs/migration.md, "From the quorum back to ZooKeeper mode"`

func migrateRollback(ctx context.Context, zkConnect, bootstrap string, sec network.ClientSecurity, w io.Writer) error {
	if bootstrap != "" {
		// Controllers restarted without the ZooKeeper keys finalize without
		// telling ZooKeeper: the log is the authority when it can be read.
		_, ls, err := readLogStatus(ctx, bootstrap, sec)
		if err != nil {
			return fmt.Errorf("migrate rollback: read the metadata log from %s: %w", bootstrap, err)
		}
		if ls.State == metadata.ZkMigrationPostMigration {
			return fmt.Errorf("migrate rollback refused: the metadata log says %s.\n%s: %w",
				migrate.StateName(ls.State), rollbackFinalized, migrate.ErrFinalized)
		}
		fmt.Fprintf(w, "metadata log state %s: no finalize\n", migrate.StateName(ls.State))
	}
	conn, chroot, err := dialZk(ctx, zkConnect)
	if err != nil {
		return err
	}
	defer conn.Close()
	res, err := migrate.Rollback(ctx, conn, chroot, 16)
	if errors.Is(err, migrate.ErrFinalized) {
		return fmt.Errorf("migrate rollback refused: %v.\n%s: %w", err, rollbackFinalized, migrate.ErrFinalized)
	}
	if err != nil {
		return err
	}
	if c := res.Controller; c != nil && c.IsKRaft() {
		fmt.Fprintf(w, "deleted /controller (KRaft controller %d, kraftControllerEpoch %d)\n", c.BrokerID, c.KRaftControllerEpoch)
	} else if c != nil {
		fmt.Fprintf(w, "/controller is held by ZooKeeper-mode broker %d: left alone\n", c.BrokerID)
	}
	if m := res.Migration; m != nil {
		fmt.Fprintf(w, "deleted /migration (last mirrored offset %d)\n", m.KRaftMetadataOffset)
	}
	fmt.Fprintf(w, "controller_epoch %d -> %d (highest epoch stamped in %d partition states: %d)\n",
		res.EpochBefore, res.EpochAfter, res.Partitions, res.MaxStampedEpoch)
	fmt.Fprintln(w, "ZooKeeper-mode brokers now elect a controller; restart them without zookeeper.metadata.migration.enable")
	return nil
}

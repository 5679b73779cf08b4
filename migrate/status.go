package migrate

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	gozk "github.com/go-zookeeper/zk"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/zk"
)

// ZkStatus is the migration as ZooKeeper shows it.
type ZkStatus struct {
	Controller      *zk.ControllerZNode // nil: no controller
	ControllerEpoch int32
	Migration       *zk.MigrationZNode // nil: no /migration (never migrated or rolled back)
	Brokers         []int32            // /brokers/ids
	FinalizePending bool
	Finalized       *FinalizedZNode // FinalizedPath (nil: not finalized as far as ZooKeeper knows)
}

// ReadZkStatus reads /controller, /controller_epoch, /migration and /brokers/ids.
func ReadZkStatus(conn *gozk.Conn, chroot string) (ZkStatus, error) {
	s := newSession(conn, chroot)
	var st ZkStatus
	data, _, err := conn.Get(s.abs(zk.ControllerPath))
	switch {
	case err == nil:
		c, derr := zk.DecodeController(data)
		if derr != nil {
			return st, derr
		}
		st.Controller = &c
	case !errors.Is(err, gozk.ErrNoNode):
		return st, fmt.Errorf("%w: read %s: %w", ErrZooKeeper, zk.ControllerPath, err)
	}
	data, _, err = conn.Get(s.abs(zk.ControllerEpochPath))
	switch {
	case err == nil:
		if st.ControllerEpoch, err = zk.DecodeControllerEpoch(data); err != nil {
			return st, err
		}
	case !errors.Is(err, gozk.ErrNoNode):
		return st, fmt.Errorf("%w: read %s: %w", ErrZooKeeper, zk.ControllerEpochPath, err)
	}
	m, _, ok, err := s.readMigration()
	if err != nil {
		return st, err
	}
	if ok {
		st.Migration = &m
	}
	ids, _, err := conn.Children(s.abs(zk.BrokerIDsPath))
	if err != nil && !errors.Is(err, gozk.ErrNoNode) {
		return st, fmt.Errorf("%w: list %s: %w", ErrZooKeeper, zk.BrokerIDsPath, err)
	}
	for _, c := range ids {
		if id, err := strconv.ParseInt(c, 10, 32); err == nil {
			st.Brokers = append(st.Brokers, int32(id))
		}
	}
	slices.Sort(st.Brokers)
	if st.FinalizePending, err = FinalizePending(conn, chroot); err != nil {
		return st, err
	}
	st.Finalized, err = Finalized(conn, chroot)
	return st, err
}

// LogStatus is the migration as the metadata log shows it.
type LogStatus struct {
	State             int8
	RegisteredBrokers []int32 // IsMigratingZkBroker registrations
	KRaftBrokers      []int32 // registrations without the flag (quorum-mode brokers)
	RecordsLoaded     int     // records of the committed "ZK Migration" transaction
	LoadOffset        int64   // offset of its EndTransactionRecord (-1 none)
	LoadInProgress    int     // records of a "ZK Migration" transaction still open (a long load)
	Offset            int64   // last offset read
	Topics            int
	Partitions        int
}

// ReplayLog replays a metadata log (snapshot records, then entries as
// metadata.AppendBatch with their offsets) as the FSM does, transactions
// included, and summarises the migration.
func ReplayLog(snapshot []metadata.Record, entries []LogEntry) (*metadata.Image, LogStatus, error) {
	st := LogStatus{LoadOffset: -1, Offset: -1}
	d := metadata.NewDelta(metadata.EmptyImage())
	for i, r := range snapshot {
		if err := d.Replay(r); err != nil {
			return nil, st, fmt.Errorf("snapshot record %d (%v): %w", i, r.Type(), err)
		}
	}
	var tx []metadata.Record
	txOpen, txName := false, ""
	for _, e := range entries {
		recs, err := metadata.DecodeBatch(e.Data)
		if err != nil {
			return nil, st, fmt.Errorf("entry %d: %w", e.Offset, err)
		}
		st.Offset = e.Offset
		for _, r := range recs {
			if rb, ok := r.(*metadata.RegisterBrokerRecord); ok && rb.BrokerEpoch == -1 {
				rb.BrokerEpoch = e.Offset // as the FSM stamps it: the entry's index
			}
			switch r := r.(type) {
			case *metadata.BeginTransactionRecord:
				txOpen, tx, txName = true, nil, ""
				if r.Name != nil {
					txName = *r.Name
				}
			case *metadata.EndTransactionRecord:
				for _, tr := range tx {
					if err := d.Replay(tr); err != nil {
						return nil, st, fmt.Errorf("entry %d: transaction record %v: %w", e.Offset, tr.Type(), err)
					}
				}
				if txName == MigrationTransactionName {
					st.RecordsLoaded, st.LoadOffset = len(tx), e.Offset
				}
				txOpen, tx = false, nil
			case *metadata.AbortTransactionRecord:
				txOpen, tx = false, nil
			default:
				if txOpen {
					tx = append(tx, r)
					continue
				}
				if err := d.Replay(r); err != nil {
					return nil, st, fmt.Errorf("entry %d: %v: %w", e.Offset, r.Type(), err)
				}
			}
		}
	}
	if txOpen && txName == MigrationTransactionName {
		st.LoadInProgress = len(tx)
	}
	img := d.Apply()
	st.State = img.ZkMigrationState()
	for _, b := range img.Brokers() {
		if b.IsMigratingZkBroker {
			st.RegisteredBrokers = append(st.RegisteredBrokers, b.ID)
		} else {
			st.KRaftBrokers = append(st.KRaftBrokers, b.ID)
		}
	}
	st.Topics, st.Partitions = img.TopicCount(), img.PartitionCount()
	return img, st, nil
}

// LogEntry is one metadata log entry (raft index and its AppendBatch).
type LogEntry struct {
	Offset int64
	Data   []byte
}

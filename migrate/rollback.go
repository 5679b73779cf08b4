package migrate

import (
	"context"
	"errors"
	"fmt"

	gozk "github.com/go-zookeeper/zk"

	"github.com/zkraft/zkraft/metadata/zk"
)

// RollbackResult says what Rollback did.
type RollbackResult struct {
	// Controller is /controller as found (nil if there was none).
	Controller *zk.ControllerZNode
	// Migration is /migration as found (nil if there was none).
	Migration *zk.MigrationZNode
	// EpochBefore and EpochAfter are /controller_epoch before and after;
	// MaxStampedEpoch the highest controller_epoch in a partition state.
	EpochBefore, EpochAfter, MaxStampedEpoch int32
	// Partitions is how many partition states were checked.
	Partitions int
}

// Rollback hands ZooKeeper back to the ZooKeeper-mode brokers, before the
// migration is finalized, with the KRaft controllers already stopped: in
// one multi it raises /controller_epoch to at least the highest
// controller_epoch stamped in any partition state znode (KAFKA-20488: a
// ZooKeeper controller whose epoch is below a state's stamp refuses to
// elect for it, leaving the partition offline; the set also fences any
// controller still dual-writing), deletes /controller (at the version read,
// so a concurrent change fails the multi) and deletes /migration (so that a
// later attempt migrates afresh). ZooKeeper-mode brokers then elect a
// controller from among themselves. A /controller held by a ZooKeeper-mode
// broker is left alone (nothing to roll back) unless /migration exists.
//
// A finalized migration (FinalizedPath exists) is refused with
// ErrFinalized and nothing is written: ZooKeeper stopped at the finalize,
// and brokers electing on it would lose every change since. /migration is
// read before the marker and deleted at that version, so a finalize racing
// with the rollback (it bumps /migration when it writes the marker) fails
// the multi.
func Rollback(ctx context.Context, conn *gozk.Conn, chroot string, loadConcurrency int) (RollbackResult, error) {
	s := newSession(conn, chroot)
	var res RollbackResult
	tree, err := zk.LoadTree(conn, chroot, max(loadConcurrency, 1))
	if err != nil {
		return res, fmt.Errorf("%w: read the partition states: %w", ErrZooKeeper, err)
	}
	for _, t := range tree.Topics {
		for _, st := range t.States {
			res.Partitions++
			res.MaxStampedEpoch = max(res.MaxStampedEpoch, st.State.ControllerEpoch)
		}
	}
	for try := 0; try < 5; try++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		var ops []any
		res.Controller, res.Migration = nil, nil
		data, stat, err := conn.Get(s.abs(zk.ControllerPath))
		switch {
		case err == nil:
			c, derr := zk.DecodeController(data)
			if derr == nil {
				res.Controller = &c
			}
			if derr == nil && !c.IsKRaft() {
				stat = nil // a ZooKeeper controller: keep it
			}
		case errors.Is(err, gozk.ErrNoNode):
			stat = nil
		default:
			return res, fmt.Errorf("%w: read %s: %w", ErrZooKeeper, zk.ControllerPath, err)
		}
		if stat != nil {
			ops = append(ops, &gozk.DeleteRequest{Path: s.abs(zk.ControllerPath), Version: stat.Version})
		}
		m, mver, ok, err := s.readMigration()
		if err != nil && !errors.Is(err, zk.ErrCorruptZNode) {
			return res, err
		}
		if fin, err := Finalized(conn, chroot); err != nil {
			return res, err
		} else if fin != nil {
			return res, fmt.Errorf("%s exists (written by controller %d, ZooKeeper mirrored up to offset %d): %w",
				FinalizedPath, fin.KRaftControllerID, fin.KRaftMetadataOffset, ErrFinalized)
		}
		if ok {
			if err == nil {
				res.Migration = &m
			}
			ops = append(ops, &gozk.DeleteRequest{Path: s.abs(zk.MigrationPath), Version: mver})
		}
		epoch, ever, err := s.readControllerEpoch()
		if err != nil {
			return res, err
		}
		res.EpochBefore = epoch
		res.EpochAfter = max(epoch, res.MaxStampedEpoch)
		if len(ops) == 0 && res.EpochAfter == epoch {
			return res, nil // nothing to roll back
		}
		ops = append([]any{&gozk.SetDataRequest{Path: s.abs(zk.ControllerEpochPath),
			Data: zk.EncodeControllerEpoch(res.EpochAfter), Version: ever}}, ops...)
		if _, err := conn.Multi(ops...); err != nil {
			if errors.Is(err, gozk.ErrBadVersion) || errors.Is(err, gozk.ErrNoNode) {
				continue // changed under us: read again
			}
			return res, fmt.Errorf("%w: rollback multi: %w", ErrZooKeeper, err)
		}
		_ = conn.Delete(s.abs(FinalizeRequestPath), -1)
		return res, nil
	}
	return res, fmt.Errorf("/controller, /migration or /controller_epoch keep changing (is a KRaft controller still running?): %w", ErrControllerMoved)
}

// RequestFinalize asks the active migrating controller to finalize
// (`zkraft migrate finalize --zookeeper`): it creates FinalizeRequestPath,
// which the driver polls; the driver appends POST_MIGRATION and deletes it.
func RequestFinalize(conn *gozk.Conn, chroot string) error {
	s := newSession(conn, chroot)
	if _, err := conn.Create(s.abs(FinalizeRequestPath), nil, 0, s.acl); err != nil && !errors.Is(err, gozk.ErrNodeExists) {
		return fmt.Errorf("%w: create %s: %w", ErrZooKeeper, FinalizeRequestPath, err)
	}
	return nil
}

// FinalizePending reports whether a finalize request is still waiting.
func FinalizePending(conn *gozk.Conn, chroot string) (bool, error) {
	ok, _, err := conn.Exists(chroot + FinalizeRequestPath)
	if err != nil {
		return false, fmt.Errorf("%w: read %s: %w", ErrZooKeeper, FinalizeRequestPath, err)
	}
	return ok, nil
}

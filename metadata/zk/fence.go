package zk

import (
	"errors"
	"fmt"

	gozk "github.com/go-zookeeper/zk"
)

// ErrKRaftController: /controller names a KRaft controller (a ZooKeeper
// migration took the controller role over, KIP-866), so a broker with
// Config.FenceClientWrites wrote nothing: the metadata belongs to the
// controller quorum, which must get the write instead.
var ErrKRaftController = errors.New("zk: /controller is a KRaft controller: write through the controller quorum")

// clientWrite runs one write a broker makes on behalf of a client
// (CreateTopics, DeleteTopics, AllocateProducerIds, AlterPartition, the
// security writes). Without
// Config.FenceClientWrites it is the plain request. With it (a migrating
// ZooKeeper-mode broker) it reads /controller_epoch, then /controller: a
// KRaft controller there is ErrKRaftController; otherwise the request runs
// in one multi behind Check(/controller_epoch, the version read), so a
// takeover by a KRaft controller (which bumps /controller_epoch) between
// the read and the write makes it fail and the next try sees the KRaft
// controller. Reads of one session are ordered, so no write lands after a
// takeover: the tree the migration loads is final. It returns the stat of
// a SetData, nil otherwise, and the request's own error (ErrNodeExists,
// ErrBadVersion, ...) as the plain call would.
func (b *Backend) clientWrite(conn *gozk.Conn, req any) (*gozk.Stat, error) {
	if !b.cfg.FenceClientWrites {
		switch r := req.(type) {
		case *gozk.CreateRequest:
			_, err := conn.Create(r.Path, r.Data, r.Flags, r.Acl)
			return nil, err
		case *gozk.SetDataRequest:
			return conn.Set(r.Path, r.Data, r.Version)
		case *gozk.DeleteRequest:
			return nil, conn.Delete(r.Path, r.Version)
		}
		return nil, fmt.Errorf("zk: client write of %T", req)
	}
	for try := 0; try < 10; try++ {
		_, estat, err := conn.Get(b.abs(ControllerEpochPath))
		if errors.Is(err, gozk.ErrNoNode) {
			if _, cerr := conn.Create(b.abs(ControllerEpochPath), EncodeControllerEpoch(0), 0, b.acl); cerr != nil && !errors.Is(cerr, gozk.ErrNodeExists) {
				return nil, fmt.Errorf("create %s: %w", ControllerEpochPath, cerr)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", ControllerEpochPath, err)
		}
		data, _, err := conn.Get(b.abs(ControllerPath))
		switch {
		case err == nil:
			if c, derr := DecodeController(data); derr == nil && c.IsKRaft() {
				return nil, fmt.Errorf("/controller names KRaft controller %d (kraftControllerEpoch %d): %w",
					c.BrokerID, c.KRaftControllerEpoch, ErrKRaftController)
			}
		case !errors.Is(err, gozk.ErrNoNode):
			return nil, fmt.Errorf("read %s: %w", ControllerPath, err)
		}
		res, err := conn.Multi(&gozk.CheckVersionRequest{Path: b.abs(ControllerEpochPath), Version: estat.Version}, req)
		if err == nil {
			return res[1].Stat, nil
		}
		if len(res) > 0 && res[0].Error != nil {
			continue // a controller was elected or took over meanwhile: look again
		}
		return nil, err
	}
	return nil, fmt.Errorf("%s keeps changing: %w", ControllerEpochPath, ErrControllerMoved)
}

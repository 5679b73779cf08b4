package zk

import (
	"context"
	"errors"
	"fmt"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"
)

// maxZnodeWriteTries bounds the read-modify-write retries of one znode
// (casZnode).
const maxZnodeWriteTries = 20

// casZnode writes the znode at path as change computes it from what
// ZooKeeper holds: a read-modify-write conditional on the znode's
// version, as Kafka's AclAuthorizer.updateResourceAcls does it. change
// gets the znode's data (nil, exists false, when there is none) and
// answers the next data and whether to write it; nil data with write set
// deletes the znode (Delete(version); nothing when there is none). A
// BadVersion, a NodeExists on a Create or a NoNode on a SetData / Delete
// means another writer came in between: read again and call change
// again, up to maxZnodeWriteTries times, so what the other writer
// changed is kept. It returns the version written (-1: nothing written,
// or the znode deleted) and the tries. Used for the entity config znodes
// (configs_admin.go) and the ACL resource znodes (security_admin.go).
func (b *Backend) casZnode(ctx context.Context, conn *gozk.Conn, path string,
	change func(data []byte, exists bool) ([]byte, bool, error)) (int32, int, error) {
	for try := 0; try < maxZnodeWriteTries; try++ {
		if err := ctx.Err(); err != nil {
			return -1, try, fmt.Errorf("%s: %w", path, err)
		}
		data, stat, err := conn.Get(b.abs(path))
		exists := err == nil
		if err != nil && !errors.Is(err, gozk.ErrNoNode) {
			return -1, try, fmt.Errorf("read %s: %w", path, err)
		}
		if !exists {
			data = nil
		}
		next, write, err := change(data, exists)
		if err != nil {
			return -1, try, fmt.Errorf("%s: %w", path, err)
		}
		if !write || (next == nil && !exists) {
			return -1, try + 1, nil
		}
		if b.beforeZnodeWrite != nil {
			b.beforeZnodeWrite(path)
		}
		var req any
		switch {
		case next == nil:
			req = &gozk.DeleteRequest{Path: b.abs(path), Version: stat.Version}
		case exists:
			req = &gozk.SetDataRequest{Path: b.abs(path), Data: next, Version: stat.Version}
		default:
			req = &gozk.CreateRequest{Path: b.abs(path), Data: next, Acl: b.acl}
		}
		wstat, err := b.clientWrite(conn, req)
		switch {
		case errors.Is(err, gozk.ErrBadVersion), errors.Is(err, gozk.ErrNodeExists), errors.Is(err, gozk.ErrNoNode) && exists:
			b.log.Info("znode changed under a conditional write, retrying", zap.String("path", path), zap.Int("try", try+1))
			continue
		case err != nil:
			return -1, try + 1, fmt.Errorf("write %s: %w", path, err)
		}
		if next == nil {
			return -1, try + 1, nil
		}
		version := int32(0)
		if wstat != nil {
			version = wstat.Version
		} else if exists {
			version = stat.Version + 1
		}
		return version, try + 1, nil
	}
	return -1, maxZnodeWriteTries, fmt.Errorf("%s changed under %d writes in a row: %w", path, maxZnodeWriteTries, ErrWriteContention)
}

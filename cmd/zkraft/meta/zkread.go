package meta

import (
	"context"
	"fmt"
	"strings"
	"time"

	gozk "github.com/go-zookeeper/zk"

	zkmeta "github.com/zkraft/zkraft/metadata/zk"
)

// readZkTree reads, without writing anything, the part of a Kafka ZooKeeper
// tree that metadata records describe, with metadata/zk's LoadTree (the loader
// the migration uses). connect is host:port[,host:port][/chroot]. The
// client's goroutines end when it returns.
func readZkTree(ctx context.Context, connect string) (*zkmeta.Tree, error) {
	servers, chroot := connect, ""
	if i := strings.IndexByte(connect, '/'); i >= 0 {
		servers, chroot = connect[:i], strings.TrimSuffix(connect[i:], "/")
	}
	conn, _, err := gozk.Connect(strings.Split(servers, ","), 10*time.Second, gozk.WithLogInfo(false))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	for conn.State() != gozk.StateHasSession {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	// The session is ours alone and closed on return, so the watches LoadTree
	// sets die with it; it only reads.
	tree, err := zkmeta.LoadTree(conn, chroot, 16)
	if err != nil {
		return nil, fmt.Errorf("read the ZooKeeper tree at %s: %w", connect, err)
	}
	return tree, nil
}

package meta

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	zkmeta "github.com/zkraft/zkraft/metadata/zk"
)

// zkRead is what zk-diff reads from ZooKeeper.
type zkRead struct {
	tree *zkmeta.Tree
	// migration is /migration (KIP-866) when it exists: the offset and
	// epoch of the last log entry the migration mirrored into ZooKeeper.
	migration *zkmeta.MigrationZNode
}

// readZkTree reads, without writing anything, the part of a Kafka ZooKeeper
// tree that metadata records describe, with metadata/zk's LoadTree (the loader
// the migration uses), and /migration. connect is
// host:port[,host:port][/chroot]. Everything (connecting and reading) ends
// within timeout, with one error saying so; the client's goroutines end
// when it returns.
func readZkTree(ctx context.Context, connect string, timeout time.Duration) (*zkRead, error) {
	servers, chroot, err := zkmeta.ParseConnect(connect)
	if err != nil {
		return nil, fmt.Errorf("--zookeeper: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, _, err := gozk.Connect(servers, min(timeout, 10*time.Second),
		// go-zookeeper logs a line per failed connection attempt, forever:
		// silenced, the caller reports one clear error instead.
		gozk.WithLogInfo(false), gozk.WithLogger(zkmeta.ClientLogger(zap.NewNop())))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	for conn.State() != gozk.StateHasSession {
		select {
		case <-ctx.Done():
			return nil, timeoutError(ctx, fmt.Sprintf("no ZooKeeper session with %s", strings.Join(servers, ",")), timeout, conn.State().String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	// The session is ours alone and closed on return, so the watches LoadTree
	// sets die with it; it only reads. A server that goes away mid-read
	// makes the client retry without end: the read is bounded by closing
	// the connection when ctx ends.
	type result struct {
		r   *zkRead
		err error
	}
	done := make(chan result, 1)
	go func() {
		tree, err := zkmeta.LoadTree(conn, chroot, 16)
		if err != nil {
			done <- result{err: fmt.Errorf("read the ZooKeeper tree at %s: %w", connect, err)}
			return
		}
		r := &zkRead{tree: tree}
		data, _, err := conn.Get(chroot + zkmeta.MigrationPath)
		switch {
		case errors.Is(err, gozk.ErrNoNode):
		case err != nil:
			done <- result{err: fmt.Errorf("read %s%s: %w", chroot, zkmeta.MigrationPath, err)}
			return
		case len(data) > 0:
			m, err := zkmeta.DecodeMigration(data)
			if err != nil {
				done <- result{err: err}
				return
			}
			r.migration = &m
		}
		done <- result{r: r}
	}()
	select {
	case res := <-done:
		return res.r, res.err
	case <-ctx.Done():
		conn.Close() // ends the reads in flight
		<-done
		return nil, timeoutError(ctx, fmt.Sprintf("reading the ZooKeeper tree at %s did not finish", connect), timeout, conn.State().String())
	}
}

// timeoutError is the one message of a tool that gave up: what did not
// happen, within which --timeout, and the last state seen.
func timeoutError(ctx context.Context, what string, timeout time.Duration, state string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s within --timeout %s (last state: %s): %w", what, timeout, state, ErrTimeout)
	}
	return ctx.Err()
}

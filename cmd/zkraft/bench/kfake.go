package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

// ServeKfake implements the hidden `zkraft bench kfake-serve [--addr 127.0.0.1:0]`: it starts
// franz-go's in-memory kfake cluster (one broker, which is also its controller) in this
// process, prints `listening <host:port>` on stdout, and serves until ctx is done or the
// process gets SIGTERM or SIGINT. Then it closes the cluster and returns nil.
//
// It exists so that `bench produce` can run kfake as a separate process, measured exactly as
// a spawned zkraft broker is (CPU from /proc, same client, same topic creation).
func ServeKfake(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("zkraft bench kfake-serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address host:port (port 0 = any free port)")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	host, portStr, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("%w: --addr: %w", ErrUsage, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return fmt.Errorf("%w: --addr: bad port %q", ErrUsage, portStr)
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	cl, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(port),
		// kfake listens on 127.0.0.1 by default; honour the host of --addr.
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			_, p, err := net.SplitHostPort(address)
			if err != nil {
				return nil, err
			}
			return net.Listen(network, net.JoinHostPort(host, p))
		}),
	)
	if err != nil {
		return fmt.Errorf("kfake-serve: start cluster on %s: %w", *addr, err)
	}
	defer cl.Close()
	addrs := cl.ListenAddrs()
	if len(addrs) == 0 {
		return fmt.Errorf("kfake-serve: cluster on %s has no listener", *addr)
	}
	if _, err := fmt.Fprintf(stdout, "listening %s\n", addrs[0]); err != nil {
		return fmt.Errorf("kfake-serve: write address: %w", err)
	}
	<-ctx.Done()
	return nil
}

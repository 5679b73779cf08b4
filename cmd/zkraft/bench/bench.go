package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const usage = `usage: zkraft bench <subcommand> [flags]

subcommands:
  produce   load-generate with a Kafka client (kgo) against zkraft, kfake or both, alternating
  consume   fill a topic, read it back with 1 and 3 consumer groups (fan-out) and tail it at a
            fixed rate; zkraft against kfake in alternating pairs
  cluster   3 controllers + 3 brokers: acks=all producers on an RF 3 (min.insync 2) and an RF 1
            topic in alternating pairs, then latency at a third of the RF 3 peak; cluster CPU
  disk      measure the disk's sequential write bandwidth (1 MiB writes, then fsync)
  metadata  quorum scale: create partitions, time controller failover after kill -9, snapshots
  roll      roll a 3-broker RF 3 cluster (SIGTERM, restart, full ISR) under an acks=all producer;
            report the longest gap between acks (--mode zk or quorum)

run 'zkraft bench <subcommand> -h' for its flags.
`

// Main runs `zkraft bench <sub> [flags]`; args excludes "bench". Results go to stdout,
// progress and errors to stderr. A bad subcommand or flag returns an error wrapping ErrUsage
// that names it.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: missing subcommand (produce, consume, cluster, disk, metadata, roll)", ErrUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "produce":
		return mainProduce(ctx, rest, stdout, stderr)
	case "consume":
		return mainConsume(ctx, rest, stdout, stderr)
	case "cluster":
		return mainCluster(ctx, rest, stdout, stderr)
	case "disk":
		return mainDisk(ctx, rest, stdout, stderr)
	case "kfake-serve":
		return ServeKfake(ctx, rest, stdout, stderr)
	case "metadata":
		return mainMetadata(ctx, rest, stdout, stderr)
	case "roll":
		return mainRoll(ctx, rest, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown subcommand %q (want produce, consume, cluster, disk, metadata or roll)", ErrUsage, sub)
}

func mainProduce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseProduceFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	rep, err := Produce(ctx, cfg, newLogger(stderr))
	if rep != nil && (len(rep.Runs) > 0 || rep.Disk != nil) {
		var werr error
		if cfg.JSON {
			werr = rep.WriteJSON(stdout)
		} else {
			werr = rep.WriteText(stdout)
		}
		if err == nil && werr != nil {
			err = fmt.Errorf("bench: write report: %w", werr)
		}
	}
	return err
}

func mainDisk(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("zkraft bench disk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", os.TempDir(), "directory to write the probe file in")
	mib := fs.Int("mib", 256, "MiB to write")
	asJSON := fs.Bool("json", false, "print one JSON document")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *mib < 1 || *mib > 64<<10 {
		return fmt.Errorf("%w: --mib: want 1..65536, got %d", ErrUsage, *mib)
	}
	d, err := MeasureDisk(ctx, *dir, *mib)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	_, err = fmt.Fprintf(stdout, "disk: sequential write %.1f MiB/s (%d x 1 MiB writes + fsync in %s, %.2f s)\n",
		d.MiBPerSec, d.MiB, d.Dir, d.Seconds)
	return err
}

// newLogger logs progress to stderr in zap's console format.
func newLogger(stderr io.Writer) *zap.Logger {
	enc := zap.NewDevelopmentEncoderConfig()
	enc.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(stderr), zap.InfoLevel)
	return zap.New(core).Named("bench")
}

package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"time"
)

// DiskResult is the disk's sequential write bandwidth measured in one directory.
type DiskResult struct {
	Dir       string  `json:"dir"`
	MiB       int     `json:"mib"`     // bytes written, in MiB
	Seconds   float64 `json:"seconds"` // from the first write to the end of fsync
	MiBPerSec float64 `json:"mib_per_sec"`
}

// MeasureDisk writes mib MiB in 1 MiB writes to a new file in dir, fsyncs it, and reports the
// bandwidth over writes plus fsync. The data is random so a compressing file system cannot
// shortcut it. The file is removed afterwards. ctx is checked between writes.
func MeasureDisk(ctx context.Context, dir string, mib int) (DiskResult, error) {
	if mib < 1 {
		return DiskResult{}, fmt.Errorf("%w: --disk-mib: want >= 1, got %d", ErrUsage, mib)
	}
	f, err := os.CreateTemp(dir, "zkraft-bench-disk-*")
	if err != nil {
		return DiskResult{}, fmt.Errorf("disk probe in %q: %w", dir, err)
	}
	name := f.Name()
	defer os.Remove(name)
	defer f.Close()

	buf := make([]byte, 1<<20)
	if _, err := rand.Read(buf); err != nil {
		return DiskResult{}, fmt.Errorf("disk probe: random data: %w", err)
	}
	start := time.Now()
	for i := 0; i < mib; i++ {
		if err := ctx.Err(); err != nil {
			return DiskResult{}, fmt.Errorf("disk probe: %w", err)
		}
		// vary the first bytes so no two MiB blocks are identical (defeats dedup).
		buf[0], buf[1], buf[2], buf[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
		if _, err := f.Write(buf); err != nil {
			return DiskResult{}, fmt.Errorf("disk probe: write MiB %d of %s: %w", i, name, err)
		}
	}
	if err := f.Sync(); err != nil {
		return DiskResult{}, fmt.Errorf("disk probe: fsync %s: %w", name, err)
	}
	secs := time.Since(start).Seconds()
	return DiskResult{Dir: dir, MiB: mib, Seconds: secs, MiBPerSec: float64(mib) / secs}, nil
}

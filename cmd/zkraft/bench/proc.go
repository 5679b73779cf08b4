package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// clockTicksPerSecond is USER_HZ, the unit of utime/stime in /proc/<pid>/stat. Go cannot call
// sysconf(_SC_CLK_TCK) without cgo; Linux has fixed USER_HZ at 100 on every architecture
// Go supports, so we assume 100 and the report says so.
const clockTicksPerSecond = 100

// parseProcStat returns utime+stime (clock ticks) from the text of /proc/<pid>/stat.
func parseProcStat(b []byte) (uint64, error) {
	u, s, err := parseProcStatSplit(b)
	return u + s, err
}

// parseProcStatSplit returns utime and stime (clock ticks) from the text of /proc/<pid>/stat.
// The second field (comm) is in parentheses and may itself contain spaces or ')', so the
// fields are counted from the last ')': after it come field 3 (state) onward; utime and stime
// are fields 14 and 15.
func parseProcStatSplit(b []byte) (uint64, uint64, error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return 0, 0, fmt.Errorf("proc stat: no ')' after comm in %q", truncate(b, 80))
	}
	fields := bytes.Fields(b[end+1:])
	// fields[0] is field 3 (state), so field k is fields[k-3].
	if len(fields) < 13 {
		return 0, 0, fmt.Errorf("proc stat: %d fields after comm, want >= 13", len(fields))
	}
	utime, err := strconv.ParseUint(string(fields[14-3]), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("proc stat: utime %q: %w", fields[14-3], err)
	}
	stime, err := strconv.ParseUint(string(fields[15-3]), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("proc stat: stime %q: %w", fields[15-3], err)
	}
	return utime, stime, nil
}

// cpuTicks reads utime+stime of a live process from /proc/<pid>/stat (Linux only; elsewhere
// the read fails and the CPU columns say n/a).
func cpuTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu time of pid %d: %w", pid, err)
	}
	return parseProcStat(b)
}

// cpuTicksSplit is cpuTicks as utime and stime apart: the broker's own code against the
// kernel work it asks for (sendfile and, on loopback, the receivers' TCP processing).
func cpuTicksSplit(pid int) (uint64, uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read cpu time of pid %d: %w", pid, err)
	}
	return parseProcStatSplit(b)
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// startPerfRecord starts `perf record -g` sampling the processes pid (comma-separated) (kernel stacks included when
// perf_event_paranoid allows) into out. stop interrupts perf and waits for it to write out;
// perf takes some tens of milliseconds to attach, so the first samples of a phase are lost.
func startPerfRecord(pid string, out string) (stop func() error, err error) {
	var stderr strings.Builder
	cmd := exec.Command("perf", "record", "-g", "-F", "499", "-p", pid, "-o", out)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start perf record of pid %s: %w", pid, err)
	}
	return func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("interrupt perf record of pid %s: %w", pid, err)
		}
		if err := cmd.Wait(); err != nil {
			if _, serr := os.Stat(out); serr != nil {
				return fmt.Errorf("perf record of pid %s into %s: %w: %s", pid, out, err, strings.TrimSpace(stderr.String()))
			}
		}
		return nil
	}, nil
}

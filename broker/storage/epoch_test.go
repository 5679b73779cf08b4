package storage

import "testing"

// TestEndOffsetFor: the answers of Kafka's LeaderEpochFileCache.endOffsetFor
// for a cache of epochs 2@10, 4@30, 5@50 and a log end of 70.
func TestEndOffsetFor(t *testing.T) {
	c := epochCache{entries: []EpochEntry{{2, 10}, {4, 30}, {5, 50}}}
	for _, tc := range []struct {
		name      string
		epoch     int32
		wantEpoch int32
		wantEnd   int64
	}{
		{"undefined epoch", -1, -1, -1},
		{"older than the cache: start of its first entry", 1, 1, 10},
		{"known older epoch: start of the next one", 2, 2, 30},
		{"unknown epoch between two: the one below it", 3, 2, 30},
		{"epoch before the latest", 4, 4, 50},
		{"latest epoch: the log end", 5, 5, 70},
		{"leader's epoch not written yet: the log end", 7, 5, 70},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if e, end := c.endOffsetFor(tc.epoch, 70); e != tc.wantEpoch || end != tc.wantEnd {
				t.Fatalf("endOffsetFor(%d) = (%d, %d), want (%d, %d)", tc.epoch, e, end, tc.wantEpoch, tc.wantEnd)
			}
		})
	}
	var empty epochCache
	if e, end := empty.endOffsetFor(3, 70); e != -1 || end != -1 {
		t.Fatalf("empty cache: (%d, %d), want (-1, -1)", e, end)
	}
}

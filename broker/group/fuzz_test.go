package group

import "testing"

// FuzzReadBatches feeds arbitrary bytes to the __consumer_offsets decoders
// (batch walk, then Kafka's key and value schemas): errors, never panics.
func FuzzReadBatches(f *testing.F) {
	v := committed{offset: 1, leaderEpoch: 2, metadata: "m", timestamp: 3}
	f.Add(appendBatch(nil, []record{{key: offsetKey("g", "t", 0), value: offsetValue(v)}, {key: groupKey("g")}}, 1))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = readBatches(b, func(_ int64, k, v []byte) error {
			_, _ = decodeRecord(k, v)
			return nil
		})
		_, _ = decodeRecord(b, b)
	})
}

func TestRecordRoundTrip(t *testing.T) {
	v := committed{offset: 42, leaderEpoch: 5, metadata: "meta", timestamp: 99}
	b := appendBatch(nil, []record{{key: offsetKey("g", "t", 3), value: offsetValue(v)}, {key: groupKey("g")}}, 1)
	var got []entry
	next, skipped, err := readBatches(b, func(_ int64, k, val []byte) error {
		e, err := decodeRecord(k, val)
		got = append(got, e)
		return err
	})
	if err != nil || skipped != 0 || next != 2 || len(got) != 2 {
		t.Fatalf("next %d skipped %d err %v got %d", next, skipped, err, len(got))
	}
	if e := got[0]; !e.isOffset || e.group != "g" || e.topic != "t" || e.partition != 3 || *e.offset != v {
		t.Fatalf("offset record %+v", e)
	}
	if e := got[1]; e.isOffset || e.group != "g" || e.meta != nil {
		t.Fatalf("group tombstone %+v", e)
	}
}

package metadata

import (
	"bytes"
	"reflect"
	"testing"
)

func FuzzDecodeRecord(f *testing.F) {
	for _, rec := range allRecords() {
		f.Add(AppendRecord(nil, rec))
	}
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := DecodeRecord(b)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to something that decodes the same.
		again, err := DecodeRecord(AppendRecord(nil, rec))
		if err != nil {
			t.Fatalf("re-decode of %#v: %v", rec, err)
		}
		// (NaN quota values are not DeepEqual to themselves: compare bytes then.)
		if !reflect.DeepEqual(again, rec) && !bytes.Equal(AppendRecord(nil, again), AppendRecord(nil, rec)) {
			t.Fatalf("unstable: %#v vs %#v", again, rec)
		}
		if _, err := RecordJSON(rec); err != nil {
			t.Fatal(err)
		}
		// Replaying any decoded record into an empty delta must not panic.
		_ = NewDelta(EmptyImage()).Replay(rec)
	})
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(AppendBatch(nil, allRecords()))
	f.Add(AppendBatch(nil, nil))
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := DecodeBatch(b)
		if err != nil {
			return
		}
		again, err := DecodeBatch(AppendBatch(nil, recs))
		if err != nil || len(again) != len(recs) {
			t.Fatalf("re-decode: %v", err)
		}
		d := NewDelta(EmptyImage())
		for _, r := range recs {
			_ = d.Replay(r)
		}
		_ = d.Apply()
	})
}

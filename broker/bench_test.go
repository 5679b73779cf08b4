package broker

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkProduce measures the handler path of an acks=1 produce of one
// 100-record batch (about 10 KiB), storage append included, no network.
func BenchmarkProduce(b *testing.B) {
	h := newHarness(b, nil)
	h.b.autoCreate(ctxT(b), []string{"bench"})
	values := make([]string, 100)
	for i := range values {
		values[i] = fmt.Sprintf("%0100d", i)
	}
	batch := buildBatch(plain(1, values...))
	b.SetBytes(int64(len(batch)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks = 9, 1
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "bench"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = append([]byte(nil), batch...)
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		if p := h.handle(req).(*kmsg.ProduceResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 {
			b.Fatal(p.ErrorCode)
		}
	}
}

// BenchmarkFetch measures a 1 MiB fetch from an existing log, no network.
func BenchmarkFetch(b *testing.B) {
	h := newHarness(b, nil)
	h.b.autoCreate(ctxT(b), []string{"bench"})
	values := make([]string, 100)
	for i := range values {
		values[i] = fmt.Sprintf("%0100d", i)
	}
	for i := 0; i < 200; i++ {
		h.produceBatchesTB(b, "bench", plain(1, values...))
	}
	ti, _ := h.b.Image().Topic("bench")
	b.ResetTimer()
	var n int
	for i := 0; i < b.N; i++ {
		resp := h.handle(fetchReq(12, "bench", ti.ID, 0, 0, 0)).(*kmsg.FetchResponse)
		n = len(resp.Topics[0].Partitions[0].RecordBatches)
	}
	b.SetBytes(int64(n))
}

package metrics

import (
	"encoding/binary"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

// ObserveRequest records one request a handler served: its count and
// time, and for Produce and Fetch the records and bytes per topic. It is
// called by the handler as it returns (broker.RequestObserver,
// quorum.Observer), before the server encodes resp, on the network
// goroutine that served the request; it only reads req and resp.
func (r *Registry) ObserveRequest(req *network.Request, resp kmsg.Response, err error, d time.Duration) {
	name := kmsg.NameForKey(req.APIKey)
	if name == "" {
		name = "Unknown"
	}
	r.requests.WithLabelValues(name, req.Listener).Inc()
	r.requestTime.WithLabelValues(name, req.Listener).Observe(d.Seconds())
	if err != nil {
		// The handler failed and the server closes the connection:
		// counted under the code the error names (UNSUPPORTED_VERSION,
		// UNKNOWN_SERVER_ERROR, ...).
		r.errors.WithLabelValues(name, errorName(network.ErrorCode(err))).Inc()
		return
	}
	errorCounts(resp, func(code int16, n int) {
		r.errors.WithLabelValues(name, errorName(code)).Add(float64(n))
	})
	switch body := req.Body.(type) {
	case *kmsg.ProduceRequest:
		pr, _ := resp.(*kmsg.ProduceResponse) // nil: acks=0, nothing to check
		r.produced(body, pr)
	case *kmsg.FetchRequest:
		r.fetched(body, resp)
	}
}

// produced counts the partitions of req the response accepted (all of
// them for acks=0, which gets no response).
func (r *Registry) produced(req *kmsg.ProduceRequest, resp *kmsg.ProduceResponse) {
	ok := func(ti, pi int) bool {
		if resp == nil {
			return true
		}
		if ti >= len(resp.Topics) || pi >= len(resp.Topics[ti].Partitions) {
			return false
		}
		return resp.Topics[ti].Partitions[pi].ErrorCode == 0
	}
	for ti, t := range req.Topics {
		var bytes, records int
		for pi, p := range t.Partitions {
			if ok(ti, pi) {
				bytes += len(p.Records)
				records += RecordCount(p.Records)
			}
		}
		if bytes > 0 {
			r.bytesIn.WithLabelValues(t.Topic).Add(float64(bytes))
			r.messagesIn.WithLabelValues(t.Topic).Add(float64(records))
		}
	}
}

// fetched counts the record bytes of a fetch response per topic, as
// replication bytes when a follower asked (replica id >= 0).
func (r *Registry) fetched(req *kmsg.FetchRequest, resp kmsg.Response) {
	fieldLen := func(b []byte) int64 { return int64(len(b)) }
	if fr, ok := resp.(*network.FileResponse); ok {
		fieldLen = fr.FieldLen
		resp = fr.Response
	}
	fr, ok := resp.(*kmsg.FetchResponse)
	if !ok {
		return
	}
	out := r.bytesOut
	if req.ReplicaID >= 0 {
		out = r.replBytesOut
	}
	for _, t := range fr.Topics {
		var n int64
		for _, p := range t.Partitions {
			n += fieldLen(p.RecordBatches)
		}
		if n > 0 {
			name := t.Topic
			if name == "" { // v13+ names topics by id only
				name = r.topicName(t.TopicID)
			}
			out.WithLabelValues(name).Add(float64(n))
		}
	}
}

// RecordCount is the number of records in a run of v2 record batches
// (the records count at byte 57 of each batch header); a truncated last
// batch counts nothing.
func RecordCount(batches []byte) int {
	n := 0
	for len(batches) >= 61 {
		size := int(int32(binary.BigEndian.Uint32(batches[8:12]))) + 12
		if size < 61 || size > len(batches) {
			break
		}
		n += int(int32(binary.BigEndian.Uint32(batches[57:61])))
		batches = batches[size:]
	}
	return n
}

package broker

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata/network"
)

// FuzzHandle drives every handler with arbitrary field values: record
// bytes, topic names, partitions, offsets, timestamps, sizes, acks and
// versions. No client input may panic a handler. (The fuzz input builds
// requests instead of being decoded by kmsg because kmsg's decoder can
// spin for seconds on a tagged-field count of billions in a few bytes,
// which would hide handler bugs behind decoder time; see the report.)
func FuzzHandle(f *testing.F) {
	keys := make([]int16, 0, len(apiRanges))
	for k := range apiRanges {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for i := range keys {
		f.Add(uint8(i), uint8(255), "t", int32(0), int64(0), int32(1), buildBatch(plain(1, "a")))
		f.Add(uint8(i), uint8(0), "nope", int32(-1), int64(-3), int32(-1), []byte{0, 1, 2})
	}

	logger := zap.NewNop()
	scfg := storage.DefaultConfig()
	scfg.Dirs = []string{f.TempDir()}
	logs, err := storage.Open(scfg, logger)
	if err != nil {
		f.Fatal(err)
	}
	defer logs.Close()
	cfg := DefaultConfig()
	cfg.MaxFetchWait = time.Millisecond
	ctrl := newFakeController()
	b, err := New(cfg, logs, ctrl, logger)
	if err != nil {
		f.Fatal(err)
	}
	ctrl.pub = b.Publish
	ctrl.register(f, 1, nil)
	b.autoCreate(context.Background(), []string{"t"})

	f.Fuzz(func(t *testing.T, keyIdx, ver uint8, topic string, partition int32, n int64, m int32, data []byte) {
		k := keys[int(keyIdx)%len(keys)]
		lo, hi := apiRanges[k][0], apiRanges[k][1]
		v := lo + int16(ver)%(hi-lo+1)
		req := fuzzRequest(k, topic, partition, n, m, data)
		req.SetVersion(v)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		resp, err := b.Handle(ctx, &network.Request{APIKey: k, Version: v, Body: req, Listener: "PLAINTEXT"})
		if err == nil && resp != nil {
			resp.AppendTo(nil) // the answer must encode at the request's version
			if fr, ok := resp.(*network.FileResponse); ok {
				fr.Release()
			}
		}
	})
}

// fuzzRequest builds a request of key k from fuzz values.
func fuzzRequest(k int16, topic string, partition int32, n int64, m int32, data []byte) kmsg.Request {
	var id [16]byte
	copy(id[:], data)
	switch k {
	case 0:
		r := kmsg.NewPtrProduceRequest()
		r.Acks = int16(m)
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic, rt.TopicID = topic, id
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = partition, data
		rt.Partitions = append(rt.Partitions, rp)
		r.Topics = append(r.Topics, rt)
		return r
	case 1:
		r := fetchReq(12, topic, id, n, m, m)
		r.MaxBytes, r.SessionID, r.ReplicaID = m, int32(n>>32), int32(n)%3-1
		r.Topics[0].Partitions[0].Partition = partition
		r.Topics[0].Partitions[0].PartitionMaxBytes = m
		r.Topics[0].Partitions[0].CurrentLeaderEpoch = int32(n >> 40)
		return r
	case 2:
		r := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = partition, n, m
		rt.Partitions = append(rt.Partitions, rp)
		r.Topics = append(r.Topics, rt)
		return r
	case 3:
		r := kmsg.NewPtrMetadataRequest()
		r.AllowAutoTopicCreation = m%2 == 0
		rt := kmsg.NewMetadataRequestTopic()
		if n%3 != 0 {
			rt.Topic = &topic
		}
		rt.TopicID = id
		r.Topics = append(r.Topics, rt)
		return r
	case 19:
		r := kmsg.NewPtrCreateTopicsRequest()
		r.ValidateOnly = n%2 == 0
		rt := kmsg.NewCreateTopicsRequestTopic()
		// A bounded partition count keeps each run fast; huge counts are
		// the controller's to refuse.
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, m%8, int16(partition%3)
		if n%5 == 0 {
			a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			a.Partition, a.Replicas = partition%4, []int32{int32(n % 3)}
			rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
		}
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = string(data), &topic
		rt.Configs = append(rt.Configs, c)
		r.Topics = append(r.Topics, rt)
		return r
	case 20:
		r := kmsg.NewPtrDeleteTopicsRequest()
		r.TopicNames = []string{topic}
		dt := kmsg.NewDeleteTopicsRequestTopic()
		if n%2 == 0 {
			dt.Topic = &topic
		}
		dt.TopicID = id
		r.Topics = append(r.Topics, dt)
		return r
	case 22:
		r := kmsg.NewPtrInitProducerIDRequest()
		if n%2 == 0 {
			r.TransactionalID = &topic
		}
		return r
	case 32:
		r := kmsg.NewPtrDescribeConfigsRequest()
		r.IncludeSynonyms = n%2 == 0
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceType(m), topic
		if len(data) > 0 {
			rr.ConfigNames = []string{string(data)}
		}
		r.Resources = append(r.Resources, rr)
		return r
	default:
		return kmsg.NewPtrApiVersionsRequest()
	}
}

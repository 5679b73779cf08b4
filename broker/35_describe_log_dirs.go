package broker

// DescribeLogDirs (key 35), versions 1-4 (kafka-log-dirs.sh, kadm).
//
// One entry per configured log directory (log.dirs), each with the
// partitions this broker holds there: a null topic list means every
// partition, else the named ones (partitions not held here are left out,
// as Kafka does). Size is the bytes of all the partition's segments;
// offset lag is 0 (it is only non-zero for future replicas of an
// intra-broker move, which zkraft does not do) and is_future false. v4
// adds the directory's total and usable bytes (statfs); a directory that
// cannot be read answers KAFKA_STORAGE_ERROR.

import (
	"context"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleDescribeLogDirs(_ context.Context, nreq *network.Request, req *kmsg.DescribeLogDirsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	if !b.authorizedCluster(nreq, opDescribe) { // Kafka: DESCRIBE on the cluster, else nothing
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp, nil
	}
	var wanted map[string]map[int32]bool // nil = every partition
	if req.Topics != nil {
		wanted = make(map[string]map[int32]bool, len(req.Topics))
		for _, t := range req.Topics {
			ps := wanted[t.Topic]
			if ps == nil {
				ps = make(map[int32]bool, len(t.Partitions))
				wanted[t.Topic] = ps
			}
			for _, p := range t.Partitions {
				ps[p] = true
			}
		}
	}
	byDir := make(map[string]map[string][]kmsg.DescribeLogDirsResponseDirTopicPartition)
	for _, tp := range b.logs.Partitions() {
		if wanted != nil && !wanted[tp.Topic][tp.Partition] {
			continue
		}
		l, ok := b.logs.Get(tp.Topic, tp.Partition)
		if !ok {
			continue // deleted since Partitions
		}
		dir := filepath.Dir(l.Dir())
		if byDir[dir] == nil {
			byDir[dir] = make(map[string][]kmsg.DescribeLogDirsResponseDirTopicPartition)
		}
		p := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
		p.Partition, p.Size = tp.Partition, l.Size()
		byDir[dir][tp.Topic] = append(byDir[dir][tp.Topic], p)
	}
	for _, dir := range b.logs.Dirs() {
		d := kmsg.NewDescribeLogDirsResponseDir()
		d.Dir = dir
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			d.ErrorCode = kerr.KafkaStorageError.Code
			resp.Dirs = append(resp.Dirs, d)
			continue
		}
		d.TotalBytes = int64(st.Blocks) * st.Bsize
		d.UsableBytes = int64(st.Bavail) * st.Bsize
		topics := byDir[filepath.Clean(dir)]
		names := make([]string, 0, len(topics))
		for name := range topics {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			t := kmsg.NewDescribeLogDirsResponseDirTopic()
			t.Topic, t.Partitions = name, topics[name]
			d.Topics = append(d.Topics, t)
		}
		resp.Dirs = append(resp.Dirs, d)
	}
	return resp, nil
}

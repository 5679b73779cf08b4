package zk

import (
	"context"
	"errors"
	"fmt"

	gozk "github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// The writes a broker makes on behalf of clients, as Kafka's ZooKeeper-mode
// brokers make them (AdminZkClient, ZkProducerIdManager and, before
// KIP-497, the partition leader's own ISR update): straight to ZooKeeper,
// after validating with the pure metadata logic against this broker's
// image. The controller reacts to the znodes through its watches. Each call
// returns once this broker's image shows the result.

// CreateTopics validates each topic with metadata.CreateTopic (placement on
// the live brokers, a new topic id), writes /config/topics/<t> when it has
// configs, then creates /brokers/topics/<t> (v3 with topic_id). The
// controller creates the partition states; the call returns when the topic
// is in this broker's image. An existing znode is ErrTopicExists.
func (b *Backend) CreateTopics(ctx context.Context, specs []metadata.CreateTopicSpec, validateOnly bool) []error {
	errs := make([]error, len(specs))
	seen := make(map[string]int, len(specs))
	for _, s := range specs {
		seen[s.Name]++
	}
	conn, err := b.session()
	for i, spec := range specs {
		switch {
		case err != nil:
			errs[i] = err
		case seen[spec.Name] > 1:
			errs[i] = fmt.Errorf("create topic %q: named %d times in one request: %w", spec.Name, seen[spec.Name], metadata.ErrInvalidRequest)
		default:
			errs[i] = b.createTopic(ctx, conn, spec, validateOnly)
		}
	}
	return errs
}

func (b *Backend) createTopic(ctx context.Context, conn *gozk.Conn, spec metadata.CreateTopicSpec, validateOnly bool) error {
	recs, err := metadata.CreateTopic(b.Image(), spec, b.cfg.Controller)
	if err != nil || validateOnly {
		return err
	}
	zn := TopicZNode{Partitions: map[int32][]int32{}, AddingReplicas: map[int32][]int32{}, RemovingReplicas: map[int32][]int32{}}
	cfg := map[string]string{}
	for _, r := range recs {
		switch r := r.(type) {
		case *metadata.TopicRecord:
			zn.TopicID = r.TopicID
		case *metadata.PartitionRecord:
			zn.Partitions[r.PartitionID] = r.Replicas
		case *metadata.ConfigRecord:
			if r.Value != nil {
				cfg[r.Name] = *r.Value
			}
		}
	}
	if len(cfg) > 0 {
		data := EncodeEntityConfig(cfg)
		if _, err := b.clientWrite(conn, &gozk.CreateRequest{Path: b.abs(TopicConfigPath(spec.Name)), Data: data, Acl: b.acl}); errors.Is(err, gozk.ErrNodeExists) {
			_, err = b.clientWrite(conn, &gozk.SetDataRequest{Path: b.abs(TopicConfigPath(spec.Name)), Data: data, Version: -1})
			if err != nil {
				return fmt.Errorf("create topic %q: write %s: %w", spec.Name, TopicConfigPath(spec.Name), err)
			}
		} else if err != nil {
			return fmt.Errorf("create topic %q: write %s: %w", spec.Name, TopicConfigPath(spec.Name), err)
		}
	}
	if _, err := b.clientWrite(conn, &gozk.CreateRequest{Path: b.abs(TopicPath(spec.Name)), Data: EncodeTopic(zn), Acl: b.acl}); err != nil {
		if errors.Is(err, gozk.ErrNodeExists) {
			return fmt.Errorf("create topic %q: %s exists: %w", spec.Name, TopicPath(spec.Name), metadata.ErrTopicExists)
		}
		return fmt.Errorf("create topic %q: %w", spec.Name, err)
	}
	b.log.Info("created topic znode", zap.String("topic", spec.Name), zap.Int("partitions", len(zn.Partitions)))
	want := int32(len(zn.Partitions))
	return b.waitImage(ctx, "create topic "+spec.Name, func(img *metadata.Image) bool {
		t, ok := img.Topic(spec.Name)
		return ok && t.ID == zn.TopicID && t.NumPartitions() == want
	})
}

// DeleteTopics queues each topic in /admin/delete_topics/<t> (Kafka's
// AdminZkClient.deleteTopic); the controller deletes it. Returns when the
// topic has left this broker's image.
func (b *Backend) DeleteTopics(ctx context.Context, names []string) []error {
	errs := make([]error, len(names))
	conn, err := b.session()
	for i, name := range names {
		if err != nil {
			errs[i] = err
			continue
		}
		t, ok := b.Image().Topic(name)
		if !ok {
			errs[i] = fmt.Errorf("delete topic %q: %w", name, metadata.ErrUnknownTopic)
			continue
		}
		if _, cerr := b.clientWrite(conn, &gozk.CreateRequest{Path: b.abs(DeleteTopicPath(name)), Acl: b.acl}); cerr != nil && !errors.Is(cerr, gozk.ErrNodeExists) {
			errs[i] = fmt.Errorf("delete topic %q: %w", name, cerr)
			continue
		}
		id := t.ID
		errs[i] = b.waitImage(ctx, "delete topic "+name, func(img *metadata.Image) bool {
			_, still := img.TopicByID(id)
			return !still
		})
		if errs[i] == nil {
			b.log.Info("deleted topic", zap.String("topic", name))
		}
	}
	return errs
}

// AllocateProducerIDs claims the next block of /latest_producer_id_block
// with a conditional setData, retrying on a concurrent claim (Kafka's
// ZkProducerIdManager.getNewProducerIdBlock).
func (b *Backend) AllocateProducerIDs(ctx context.Context, brokerID int32) (int64, int64, error) {
	conn, err := b.session()
	if err != nil {
		return 0, 0, err
	}
	for ctx.Err() == nil {
		data, stat, err := conn.Get(b.abs(ProducerIDBlockPath))
		if err != nil {
			return 0, 0, fmt.Errorf("allocate producer ids: read %s: %w", ProducerIDBlockPath, err)
		}
		start := int64(0)
		if len(data) > 0 {
			blk, err := DecodeProducerIDBlock(data)
			if err != nil {
				return 0, 0, fmt.Errorf("allocate producer ids: %w", err)
			}
			start = blk.BlockEnd + 1
		}
		blk := ProducerIDBlock{Broker: brokerID, BlockStart: start, BlockEnd: start + metadata.ProducerIDBlockSize - 1}
		if _, err := b.clientWrite(conn, &gozk.SetDataRequest{Path: b.abs(ProducerIDBlockPath), Data: EncodeProducerIDBlock(blk), Version: stat.Version}); errors.Is(err, gozk.ErrBadVersion) {
			continue
		} else if err != nil {
			return 0, 0, fmt.Errorf("allocate producer ids: write %s: %w", ProducerIDBlockPath, err)
		}
		err = b.waitImage(ctx, "allocate producer ids", func(img *metadata.Image) bool { return img.NextProducerID() > blk.BlockEnd })
		return start, metadata.ProducerIDBlockSize, err
	}
	return 0, 0, ctx.Err()
}

// AlterPartition validates an ISR change with metadata.AlterPartition, then
// writes the state znode with setData(expected version = partition epoch):
// a concurrent change (a controller election, another ISR update) makes it
// fail with metadata.ErrInvalidUpdateEpoch. controller_epoch and the leader
// fields are kept as the controller wrote them.
func (b *Backend) AlterPartition(ctx context.Context, req metadata.AlterPartitionRequest) (*metadata.PartitionRegistration, error) {
	conn, err := b.session()
	if err != nil {
		return nil, err
	}
	img := b.Image()
	next, recs, err := metadata.AlterPartition(img, req)
	if err != nil || len(recs) == 0 {
		return next, err
	}
	t, _ := img.TopicByID(req.TopicID)
	path := PartitionStatePath(t.Name, req.Partition)
	data, stat, err := conn.Get(b.abs(path))
	if err != nil {
		return nil, fmt.Errorf("alter partition %s-%d: read state: %w", t.Name, req.Partition, err)
	}
	if stat.Version != req.PartitionEpoch {
		return nil, fmt.Errorf("alter partition %s-%d: partition epoch %d, znode version %d: %w",
			t.Name, req.Partition, req.PartitionEpoch, stat.Version, metadata.ErrInvalidUpdateEpoch)
	}
	st, err := DecodePartitionState(data)
	if err != nil {
		return nil, err
	}
	st.ISR = next.ISR
	nstat, err := b.clientWrite(conn, &gozk.SetDataRequest{Path: b.abs(path), Data: EncodePartitionState(st), Version: stat.Version})
	if errors.Is(err, gozk.ErrBadVersion) {
		return nil, fmt.Errorf("alter partition %s-%d: state changed under us: %w", t.Name, req.Partition, metadata.ErrInvalidUpdateEpoch)
	}
	if err != nil {
		return nil, fmt.Errorf("alter partition %s-%d: %w", t.Name, req.Partition, err)
	}
	next.PartitionEpoch = nstat.Version
	err = b.waitImage(ctx, fmt.Sprintf("alter partition %s-%d", t.Name, req.Partition), func(img *metadata.Image) bool {
		tt, ok := img.TopicByID(req.TopicID)
		if !ok {
			return true
		}
		p, ok := tt.Partitions[req.Partition]
		return !ok || p.PartitionEpoch >= nstat.Version
	})
	return next, err
}

package broker

import (
	"maps"
	"strconv"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/broker/storage"
	"github.com/zkraft/zkraft/metadata"
)

// Publish is the broker's metadata publisher: the backend calls it with
// each new image, in log order and never concurrently. It
//
//  1. makes img the image every handler sees from now on;
//  2. creates the logs of partitions this broker now leads or follows and
//     deletes the logs of partitions it no longer hosts
//     (delta.LocalChanges);
//  3. hands the changes to the replication manager (ReplicaPublisher), which
//     becomes leader or follower, between the creations and the deletions;
//  4. applies per-topic overrides of segment.bytes, retention.ms,
//     retention.bytes, cleanup.policy, delete.retention.ms and
//     min.cleanable.dirty.ratio to the logs of topics whose overrides changed,
//     and to every log when a dynamic broker default changed
//     (dynamic_config.go).
//
// Storage failures are logged, not returned: the image is the truth, and a
// partition whose log could not be created answers NOT_LEADER_OR_FOLLOWER
// until a later image retries it.
//
// The image is stored first so that by the time a log exists, requests
// already see the registration that justified creating it.
func (b *Broker) Publish(delta *metadata.Delta, img *metadata.Image) {
	prev := b.img.Swap(img)
	b.publishAuthorizer(prev, img)
	// Dynamic broker configs first, so logs created below start with them.
	dynChanged := b.publishDynamicConfig(img)
	changes := delta.LocalChanges(b.cfg.NodeID)
	for _, group := range [][]metadata.LocalPartition{changes.Leaders, changes.Followers} {
		for _, lp := range group {
			l, err := b.logs.GetOrCreate(lp.Topic, lp.Partition, lp.TopicID)
			if err != nil {
				b.logger.Error("create partition log failed", zap.String("topic", lp.Topic),
					zap.Int32("partition", lp.Partition), zap.Error(err))
				continue
			}
			// A new log starts with the manager's defaults; the broker's
			// (log.message.timestamp.type has no manager-wide default) and
			// the topic's overrides go on top. Unchanged configs cost a
			// comparison.
			b.applyLogConfig(l, img.Configs(metadata.TopicResource, lp.Topic))
		}
	}
	// The group coordinator loads offsets partitions it now leads and
	// unloads the others (groups.go).
	b.publishGroups(changes)
	// So does the transaction coordinator with __transaction_state (txns.go).
	b.publishTxns(changes)
	// The replication manager becomes leader or follower once the logs
	// exist, and stops fetching before a log is deleted.
	if rp, ok := b.repl.(ReplicaPublisher); ok {
		rp.Apply(img, changes)
	}
	for _, lp := range changes.Deletes {
		if _, ok := b.logs.Get(lp.Topic, lp.Partition); !ok {
			continue
		}
		if err := b.logs.Delete(lp.Topic, lp.Partition); err != nil {
			b.logger.Error("delete partition log failed", zap.String("topic", lp.Topic),
				zap.Int32("partition", lp.Partition), zap.Error(err))
			continue
		}
		b.logger.Info("deleted partition log", zap.String("topic", lp.Topic), zap.Int32("partition", lp.Partition))
	}
	b.syncTopicConfigs(img)
	if dynChanged {
		b.reapplyLogConfigs(img)
	}
}

// syncTopicConfigs pushes changed topic overrides to the topic's local
// logs. metadata.Delta does not say which configs it touched, so this
// compares the image's topic config resources with what was last applied:
// O(topics with overrides) per image.
func (b *Broker) syncTopicConfigs(img *metadata.Image) {
	seen := make(map[string]bool, len(b.topicConfigs))
	for _, res := range img.ConfigResources() {
		if res.Type != metadata.TopicResource {
			continue
		}
		seen[res.Name] = true
		cur := img.Configs(metadata.TopicResource, res.Name)
		if maps.Equal(cur, b.topicConfigs[res.Name]) {
			continue
		}
		b.topicConfigs[res.Name] = cur
		b.applyTopicConfig(img, res.Name, cur)
	}
	for name := range b.topicConfigs {
		if !seen[name] {
			delete(b.topicConfigs, name)
			b.applyTopicConfig(img, name, nil)
		}
	}
}

// applyTopicConfig sets the log config of every local partition of topic.
func (b *Broker) applyTopicConfig(img *metadata.Image, topic string, overrides map[string]string) {
	t, ok := img.Topic(topic)
	if !ok {
		return
	}
	for p := range t.Partitions {
		if l, ok := b.logs.Get(topic, p); ok {
			b.applyLogConfig(l, overrides)
		}
	}
}

// applyLogConfig sets l's segment, retention, cleaning, timestamp and
// compression settings: the broker
// defaults (static, then dynamic), overridden by the topic's configs.
func (b *Broker) applyLogConfig(l *storage.Log, overrides map[string]string) {
	eff := b.effective()
	c := storage.LogConfig{
		SegmentBytes:           eff.cfg.LogSegmentBytes,
		RetentionMs:            eff.cfg.LogRetentionMs,
		RetentionBytes:         eff.cfg.LogRetentionBytes,
		CleanupPolicy:          eff.cfg.LogCleanupPolicy,
		DeleteRetentionMs:      eff.cfg.LogCleanerDeleteRetentionMs,
		MinCleanableDirtyRatio: eff.cfg.LogCleanerMinCleanableRatio,
		LogAppendTime:          eff.cfg.LogMessageTimestampType == timestampLogAppendTime,
		Compression:            eff.cfg.CompressionType,
		MaxMessageBytes:        eff.cfg.MessageMaxBytes,
	}
	if v, ok := overrides["compression.type"]; ok {
		c.Compression = v
	}
	if v, ok := overrides["max.message.bytes"]; ok {
		if n, err := strconv.ParseInt(v, 10, 32); err == nil && n >= 0 {
			c.MaxMessageBytes = int32(n)
		}
	}
	if v, ok := overrides["cleanup.policy"]; ok {
		c.CleanupPolicy = v
	}
	if v, ok := overrides["message.timestamp.type"]; ok {
		c.LogAppendTime = v == timestampLogAppendTime
	}
	if v, ok := overrides["min.cleanable.dirty.ratio"]; ok {
		if r, err := strconv.ParseFloat(v, 64); err == nil {
			c.MinCleanableDirtyRatio = r
		} else {
			b.logger.Warn("ignoring unparseable topic config", zap.String("topic", l.Topic()),
				zap.String("key", "min.cleanable.dirty.ratio"), zap.String("value", v))
		}
	}
	for key, dst := range map[string]*int64{
		"segment.bytes":       &c.SegmentBytes,
		"retention.ms":        &c.RetentionMs,
		"retention.bytes":     &c.RetentionBytes,
		"delete.retention.ms": &c.DeleteRetentionMs,
	} {
		v, ok := overrides[key]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.logger.Warn("ignoring unparseable topic config", zap.String("topic", l.Topic()),
				zap.String("key", key), zap.String("value", v))
			continue
		}
		*dst = n
	}
	if c == l.Config() {
		return
	}
	if err := l.SetConfig(c); err != nil {
		b.logger.Warn("topic config rejected by storage", zap.String("topic", l.Topic()), zap.Error(err))
	}
}

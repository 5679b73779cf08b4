package broker

// Dynamic broker configs (Kafka's DynamicBrokerConfig): keys set with
// IncrementalAlterConfigs / AlterConfigs on a broker resource live in the
// image as BrokerResource configs — this broker's id
// (/config/brokers/<id>) wins over the cluster default (name "",
// /config/brokers/<default>), which wins over the static Config from
// server.properties. Publish recomputes the effective values when either
// resource changed and re-applies the log settings of every local
// partition, so a change takes effect without a restart:
//
//	log.retention.ms, log.retention.bytes, log.segment.bytes,
//	log.cleanup.policy, log.cleaner.delete.retention.ms,
//	log.cleaner.min.cleanable.ratio, log.message.timestamp.type
//	                        defaults of topics without their own override
//	compression.type        the default codec of topics without their own
//	                        override (storage recompresses on append)
//	message.max.bytes, min.insync.replicas
//	                        Produce's checks (topicSettings)
//	unclean.leader.election.enable,
//	leader/follower.replication.throttled.rate
//	                        stored and described (the controller reads the
//	                        unclean default, replication the throttles)
//
// The effective set is immutable and published through an
// atomic.Pointer; handlers load it per request.

import (
	"maps"
	"strconv"

	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// dynamicConfig is one effective configuration: the static Config with
// the dynamic values applied, and the dynamic maps it came from.
type dynamicConfig struct {
	cfg       Config
	perBroker map[string]string // /config/brokers/<id>
	defaults  map[string]string // /config/brokers/<default>
}

// dynamicValue is the dynamic value of key and its source, ok false when
// neither resource sets it.
func (d *dynamicConfig) dynamicValue(key string) (value string, fromDefault, ok bool) {
	if v, ok := d.perBroker[key]; ok {
		return v, false, true
	}
	if v, ok := d.defaults[key]; ok {
		return v, true, true
	}
	return "", false, false
}

// effective is the broker's current effective configuration.
func (b *Broker) effective() *dynamicConfig { return b.dyn.Load() }

// newDynamicConfig applies perBroker over defaults over static. A value
// that does not parse (the controller validates them, so a newer writer)
// is logged and skipped.
func newDynamicConfig(static Config, perBroker, defaults map[string]string, logger *zap.Logger) *dynamicConfig {
	d := &dynamicConfig{cfg: static, perBroker: perBroker, defaults: defaults}
	long := func(key string, dst *int64) {
		if v, _, ok := d.dynamicValue(key); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				*dst = n
			} else {
				logger.Warn("ignoring unparseable dynamic broker config", zap.String("key", key), zap.String("value", v))
			}
		}
	}
	int32v := func(key string, dst *int32) {
		n := int64(*dst)
		long(key, &n)
		if n >= 0 && n <= 1<<31-1 {
			*dst = int32(n)
		}
	}
	long("log.retention.ms", &d.cfg.LogRetentionMs)
	long("log.retention.bytes", &d.cfg.LogRetentionBytes)
	long("log.segment.bytes", &d.cfg.LogSegmentBytes)
	long("log.cleaner.delete.retention.ms", &d.cfg.LogCleanerDeleteRetentionMs)
	int32v("message.max.bytes", &d.cfg.MessageMaxBytes)
	int32v("min.insync.replicas", &d.cfg.MinInsyncReplicas)
	if v, _, ok := d.dynamicValue("log.cleanup.policy"); ok {
		d.cfg.LogCleanupPolicy = v
	}
	if v, _, ok := d.dynamicValue("compression.type"); ok {
		d.cfg.CompressionType = v
	}
	if v, _, ok := d.dynamicValue("log.message.timestamp.type"); ok && (v == timestampCreateTime || v == timestampLogAppendTime) {
		d.cfg.LogMessageTimestampType = v
	}
	if v, _, ok := d.dynamicValue("log.cleaner.min.cleanable.ratio"); ok {
		if r, err := strconv.ParseFloat(v, 64); err == nil {
			d.cfg.LogCleanerMinCleanableRatio = r
		}
	}
	return d
}

// publishDynamicConfig recomputes the effective configuration when img's
// broker resources for this broker or the default differ from the
// current one's, reporting whether it did. Called by Publish only.
func (b *Broker) publishDynamicConfig(img *metadata.Image) bool {
	cur := b.effective()
	per := img.Configs(metadata.BrokerResource, strconv.Itoa(int(b.cfg.NodeID)))
	def := img.Configs(metadata.BrokerResource, "")
	if cur != nil && maps.Equal(per, cur.perBroker) && maps.Equal(def, cur.defaults) {
		return false
	}
	b.dyn.Store(newDynamicConfig(b.cfg, per, def, b.logger))
	if cur != nil {
		b.logger.Info("dynamic broker config changed", zap.Any("broker", per), zap.Any("default", def))
	}
	return true
}

// reapplyLogConfigs sets the log settings of every local partition again
// (after a dynamic default changed).
func (b *Broker) reapplyLogConfigs(img *metadata.Image) {
	for _, tp := range b.logs.Partitions() {
		if l, ok := b.logs.Get(tp.Topic, tp.Partition); ok {
			b.applyLogConfig(l, img.Configs(metadata.TopicResource, tp.Topic))
		}
	}
}

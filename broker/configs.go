package broker

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
)

// topicConfigDef is a topic-level config this broker honours, with the
// broker-level key that supplies its default (its "synonym" in Kafka's
// DescribeConfigs terms).
type topicConfigDef struct {
	name      string
	brokerKey string
	typ       kmsg.ConfigType
	value     func(c *Config) string
}

// topicConfigDefs are the topic configs DescribeConfigs lists, by name.
var topicConfigDefs = []topicConfigDef{
	{"cleanup.policy", "log.cleanup.policy", kmsg.ConfigTypeList, func(c *Config) string { return c.LogCleanupPolicy }},
	{"compression.type", "compression.type", kmsg.ConfigTypeString, func(c *Config) string { return c.CompressionType }},
	{"delete.retention.ms", "log.cleaner.delete.retention.ms", kmsg.ConfigTypeLong, func(c *Config) string { return itoa(c.LogCleanerDeleteRetentionMs) }},
	{"max.message.bytes", "message.max.bytes", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(int64(c.MessageMaxBytes)) }},
	{"message.timestamp.type", "log.message.timestamp.type", kmsg.ConfigTypeString, func(c *Config) string { return c.LogMessageTimestampType }},
	{"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", kmsg.ConfigTypeDouble, minCleanableRatio},
	{"min.insync.replicas", "min.insync.replicas", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(int64(c.MinInsyncReplicas)) }},
	{"retention.bytes", "log.retention.bytes", kmsg.ConfigTypeLong, func(c *Config) string { return itoa(c.LogRetentionBytes) }},
	{"retention.ms", "log.retention.ms", kmsg.ConfigTypeLong, func(c *Config) string { return itoa(c.LogRetentionMs) }},
	{"segment.bytes", "log.segment.bytes", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(c.LogSegmentBytes) }},
	{metadata.UncleanLeaderElectionKey, metadata.UncleanLeaderElectionKey, kmsg.ConfigTypeBoolean,
		func(c *Config) string { return strconv.FormatBool(c.UncleanLeaderElection) }},
}

// brokerConfigDefs are the broker configs DescribeConfigs lists, with
// their static value (from the file and flags at start). The keys
// metadata.IsDynamicBrokerConfig names may be overridden at run time
// (dynamic_config.go); the others are read-only.
var brokerConfigDefs = []struct {
	name  string
	typ   kmsg.ConfigType
	value func(c *Config) string
}{
	{"advertised.listeners", kmsg.ConfigTypeString, listenersString},
	{"auto.create.topics.enable", kmsg.ConfigTypeBoolean, func(c *Config) string { return strconv.FormatBool(c.AutoCreateTopics) }},
	{"broker.id", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(int64(c.NodeID)) }},
	{"compression.type", kmsg.ConfigTypeString, func(c *Config) string { return c.CompressionType }},
	{"default.replication.factor", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(int64(c.DefaultReplicationFactor)) }},
	{metadata.FollowerReplicationThrottledRateKey, kmsg.ConfigTypeLong, func(*Config) string { return itoa(math.MaxInt64) }},
	{metadata.LeaderReplicationThrottledRateKey, kmsg.ConfigTypeLong, func(*Config) string { return itoa(math.MaxInt64) }},
	{"log.cleaner.delete.retention.ms", kmsg.ConfigTypeLong, func(c *Config) string { return itoa(c.LogCleanerDeleteRetentionMs) }},
	{"log.cleaner.min.cleanable.ratio", kmsg.ConfigTypeDouble, minCleanableRatio},
	{"log.cleaner.threads", kmsg.ConfigTypeInt, func(*Config) string { return "1" }},
	{"log.cleanup.policy", kmsg.ConfigTypeList, func(c *Config) string { return c.LogCleanupPolicy }},
	{"log.message.timestamp.type", kmsg.ConfigTypeString, func(c *Config) string { return c.LogMessageTimestampType }},
	{"log.retention.bytes", kmsg.ConfigTypeLong, func(c *Config) string { return itoa(c.LogRetentionBytes) }},
	{"log.retention.ms", kmsg.ConfigTypeLong, func(c *Config) string { return itoa(c.LogRetentionMs) }},
	{"log.segment.bytes", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(c.LogSegmentBytes) }},
	{"message.max.bytes", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(int64(c.MessageMaxBytes)) }},
	{"min.insync.replicas", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(int64(c.MinInsyncReplicas)) }},
	{"node.id", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(int64(c.NodeID)) }},
	{"num.partitions", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(int64(c.NumPartitions)) }},
	{metadata.UncleanLeaderElectionKey, kmsg.ConfigTypeBoolean, func(c *Config) string { return strconv.FormatBool(c.UncleanLeaderElection) }},
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func minCleanableRatio(c *Config) string {
	return strconv.FormatFloat(c.LogCleanerMinCleanableRatio, 'f', -1, 64)
}

func listenersString(c *Config) string {
	parts := make([]string, len(c.Listeners))
	for i, l := range c.Listeners {
		parts[i] = l.Name + "://" + l.Host + ":" + itoa(int64(l.Port))
	}
	return strings.Join(parts, ",")
}

// configEntry is one described config, before it is shaped into the
// response type of DescribeConfigs or CreateTopics.
type configEntry struct {
	name     string
	value    string
	source   kmsg.ConfigSource
	readOnly bool
	typ      kmsg.ConfigType
	synonyms []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym
}

// topicConfigEntries describes a topic: every honoured config with its
// default from the broker config (dynamic, then static), overridden by
// overrides (the topic's dynamic configs), plus any other override
// verbatim. Sorted by name.
func (b *Broker) topicConfigEntries(overrides map[string]string) []configEntry {
	eff := b.effective()
	known := make(map[string]bool, len(topicConfigDefs))
	out := make([]configEntry, 0, len(topicConfigDefs)+len(overrides))
	for _, d := range topicConfigDefs {
		known[d.name] = true
		value, levels := b.brokerLevels(eff, d.brokerKey, d.value)
		e := configEntry{name: d.name, value: value, source: levels[0].Source, typ: d.typ}
		if v, ok := overrides[d.name]; ok {
			e.value, e.source = v, kmsg.ConfigSourceDynamicTopicConfig
			e.synonyms = append(e.synonyms, synonym(d.name, v, kmsg.ConfigSourceDynamicTopicConfig))
		}
		e.synonyms = append(e.synonyms, levels...)
		out = append(out, e)
	}
	for k, v := range overrides {
		if !known[k] {
			out = append(out, configEntry{name: k, value: v, source: kmsg.ConfigSourceDynamicTopicConfig,
				synonyms: []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{
					synonym(k, v, kmsg.ConfigSourceDynamicTopicConfig)}})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// brokerLevels is a broker key's effective value and the chain of its
// values, most specific
// first (Kafka's synonyms order, ConfigHelper.configSynonyms): this
// broker's dynamic value (DYNAMIC_BROKER_CONFIG), the cluster's dynamic
// default (DYNAMIC_DEFAULT_BROKER_CONFIG), the static value when the file
// set the key or it differs from Kafka's default (STATIC_BROKER_CONFIG),
// then Kafka's default (DEFAULT_CONFIG; for log.retention.ms, whose
// Kafka default is given in hours, log.retention.hours=168).
func (b *Broker) brokerLevels(eff *dynamicConfig, key string, static func(*Config) string) (string, []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym) {
	var out []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym
	if v, ok := eff.perBroker[key]; ok {
		out = append(out, synonym(key, v, kmsg.ConfigSourceDynamicBrokerConfig))
	}
	if v, ok := eff.defaults[key]; ok {
		out = append(out, synonym(key, v, kmsg.ConfigSourceDynamicDefaultBrokerConfig))
	}
	defaults := DefaultConfig()
	v, def := static(&b.cfg), static(&defaults)
	if b.cfg.StaticKeys[key] || v != def {
		out = append(out, synonym(key, v, kmsg.ConfigSourceStaticBrokerConfig))
	}
	name, value := defaultSynonym(key, def)
	out = append(out, synonym(name, value, kmsg.ConfigSourceDefaultConfig))
	if dv, _, ok := eff.dynamicValue(key); ok {
		v = dv
	}
	return v, out
}

// defaultSynonym is the DEFAULT_CONFIG entry of key whose zkraft default
// is def: Kafka gives log.retention.ms no default of its own, the one in
// force is log.retention.hours=168 (the chain of a value set nowhere
// still ends in a DEFAULT_CONFIG entry of the key itself).
func defaultSynonym(key, def string) (name, value string) {
	if key == "log.retention.ms" && def == itoa(7*24*60*60*1000) {
		return "log.retention.hours", "168"
	}
	return key, def
}

// brokerConfigEntries describes this broker: every listed config with
// its effective value and source, read-only unless dynamic.
func (b *Broker) brokerConfigEntries() []configEntry {
	eff := b.effective()
	out := make([]configEntry, 0, len(brokerConfigDefs))
	for _, d := range brokerConfigDefs {
		value, levels := b.brokerLevels(eff, d.name, d.value)
		out = append(out, configEntry{name: d.name, value: value, source: levels[0].Source,
			readOnly: !metadata.IsDynamicBrokerConfig(d.name), typ: d.typ, synonyms: levels})
	}
	return out
}

// defaultBrokerConfigEntries describes the cluster-default broker
// resource (name ""): only its dynamic configs, as Kafka does.
func (b *Broker) defaultBrokerConfigEntries() []configEntry {
	eff := b.effective()
	types := make(map[string]kmsg.ConfigType, len(brokerConfigDefs))
	for _, d := range brokerConfigDefs {
		types[d.name] = d.typ
	}
	out := make([]configEntry, 0, len(eff.defaults))
	for k, v := range eff.defaults {
		out = append(out, configEntry{name: k, value: v, source: kmsg.ConfigSourceDynamicDefaultBrokerConfig, typ: types[k],
			synonyms: []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{synonym(k, v, kmsg.ConfigSourceDynamicDefaultBrokerConfig)}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func synonym(name, value string, src kmsg.ConfigSource) kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
	s.Name, s.Value, s.Source = name, strPtr(value), src
	return s
}

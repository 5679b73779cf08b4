package broker

import (
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
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
	{"cleanup.policy", "log.cleanup.policy", kmsg.ConfigTypeList, func(*Config) string { return "delete" }},
	{"compression.type", "compression.type", kmsg.ConfigTypeString, func(*Config) string { return "producer" }},
	{"max.message.bytes", "message.max.bytes", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(int64(c.MessageMaxBytes)) }},
	{"message.timestamp.type", "log.message.timestamp.type", kmsg.ConfigTypeString, func(c *Config) string { return c.LogMessageTimestampType }},
	{"min.insync.replicas", "min.insync.replicas", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(int64(c.MinInsyncReplicas)) }},
	{"retention.bytes", "log.retention.bytes", kmsg.ConfigTypeLong, func(c *Config) string { return itoa(c.LogRetentionBytes) }},
	{"retention.ms", "log.retention.ms", kmsg.ConfigTypeLong, func(c *Config) string { return itoa(c.LogRetentionMs) }},
	{"segment.bytes", "log.segment.bytes", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(c.LogSegmentBytes) }},
}

// brokerConfigDefs are the broker configs DescribeConfigs lists (all
// read-only: they come from the file and flags at start).
var brokerConfigDefs = []struct {
	name  string
	typ   kmsg.ConfigType
	value func(c *Config) string
}{
	{"advertised.listeners", kmsg.ConfigTypeString, listenersString},
	{"auto.create.topics.enable", kmsg.ConfigTypeBoolean, func(c *Config) string { return strconv.FormatBool(c.AutoCreateTopics) }},
	{"broker.id", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(int64(c.NodeID)) }},
	{"default.replication.factor", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(int64(c.DefaultReplicationFactor)) }},
	{"log.retention.bytes", kmsg.ConfigTypeLong, func(c *Config) string { return itoa(c.LogRetentionBytes) }},
	{"log.retention.ms", kmsg.ConfigTypeLong, func(c *Config) string { return itoa(c.LogRetentionMs) }},
	{"log.segment.bytes", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(c.LogSegmentBytes) }},
	{"message.max.bytes", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(int64(c.MessageMaxBytes)) }},
	{"min.insync.replicas", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(int64(c.MinInsyncReplicas)) }},
	{"node.id", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(int64(c.NodeID)) }},
	{"num.partitions", kmsg.ConfigTypeInt, func(c *Config) string { return itoa(int64(c.NumPartitions)) }},
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

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
// default from the broker config, overridden by overrides (the topic's
// dynamic configs), plus any other override verbatim. Sorted by name.
func (b *Broker) topicConfigEntries(overrides map[string]string) []configEntry {
	defaults := DefaultConfig()
	known := make(map[string]bool, len(topicConfigDefs))
	out := make([]configEntry, 0, len(topicConfigDefs)+len(overrides))
	for _, d := range topicConfigDefs {
		known[d.name] = true
		brokerVal := d.value(&b.cfg)
		brokerSrc := kmsg.ConfigSourceStaticBrokerConfig
		if brokerVal == d.value(&defaults) {
			brokerSrc = kmsg.ConfigSourceDefaultConfig
		}
		e := configEntry{name: d.name, value: brokerVal, source: brokerSrc, typ: d.typ}
		if v, ok := overrides[d.name]; ok {
			e.value, e.source = v, kmsg.ConfigSourceDynamicTopicConfig
			e.synonyms = append(e.synonyms, synonym(d.name, v, kmsg.ConfigSourceDynamicTopicConfig))
		}
		e.synonyms = append(e.synonyms, synonym(d.brokerKey, brokerVal, brokerSrc))
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

// brokerConfigEntries describes this broker's static configuration.
func (b *Broker) brokerConfigEntries() []configEntry {
	defaults := DefaultConfig()
	out := make([]configEntry, 0, len(brokerConfigDefs))
	for _, d := range brokerConfigDefs {
		v := d.value(&b.cfg)
		src := kmsg.ConfigSourceStaticBrokerConfig
		if v == d.value(&defaults) {
			src = kmsg.ConfigSourceDefaultConfig
		}
		out = append(out, configEntry{name: d.name, value: v, source: src, readOnly: true, typ: d.typ,
			synonyms: []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{synonym(d.name, v, src)}})
	}
	return out
}

func synonym(name, value string, src kmsg.ConfigSource) kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
	s.Name, s.Value, s.Source = name, strPtr(value), src
	return s
}

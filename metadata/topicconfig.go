package metadata

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// MaxTopicNameLength is Kafka's limit (Topic.MAX_NAME_LENGTH).
const MaxTopicNameLength = 249

// ValidateTopicName applies Kafka's topic-name rules (Topic.validate): not
// empty, not "." or "..", at most 249 characters of [a-zA-Z0-9._-].
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("topic name is empty: %w", ErrInvalidTopic)
	case name == "." || name == "..":
		return fmt.Errorf("topic name %q is not allowed: %w", name, ErrInvalidTopic)
	case len(name) > MaxTopicNameLength:
		return fmt.Errorf("topic name of %d characters exceeds %d: %w", len(name), MaxTopicNameLength, ErrInvalidTopic)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("topic name %q: character %q is not one of [a-zA-Z0-9._-]: %w", name, c, ErrInvalidTopic)
		}
	}
	return nil
}

// configCheck validates one value; nil means any string is accepted.
type configCheck func(v string) error

func longAtLeast(min int64) configCheck {
	return func(v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("not a long")
		}
		if n < min {
			return fmt.Errorf("must be at least %d", min)
		}
		return nil
	}
}

func intAtLeast(min int64) configCheck {
	return func(v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return fmt.Errorf("not an int")
		}
		if n < min {
			return fmt.Errorf("must be at least %d", min)
		}
		return nil
	}
}

func boolean(v string) error {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "false":
		return nil
	}
	return fmt.Errorf("not a boolean (true or false)")
}

func oneOf(allowed ...string) configCheck {
	return func(v string) error {
		if slices.Contains(allowed, strings.TrimSpace(v)) {
			return nil
		}
		return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
	}
}

func ratio(v string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) {
		return fmt.Errorf("not a double")
	}
	if f < 0 || f > 1 {
		return fmt.Errorf("must be between 0 and 1")
	}
	return nil
}

func cleanupPolicy(v string) error {
	parts := strings.Split(v, ",")
	for _, p := range parts {
		switch strings.TrimSpace(p) {
		case "delete", "compact":
		default:
			return fmt.Errorf("must be a list of delete, compact")
		}
	}
	return nil
}

// throttledReplicas is Kafka's ThrottledReplicaListValidator: "*" or a
// list of partition:broker pairs (empty = none).
func throttledReplicas(v string) error {
	v = strings.TrimSpace(v)
	if v == "" || v == "*" {
		return nil
	}
	for _, e := range strings.Split(v, ",") {
		p, b, ok := strings.Cut(strings.TrimSpace(e), ":")
		if !ok {
			return fmt.Errorf("must be the literal '*' or a list of replicas in the format [partitionId]:[brokerId],[partitionId]:[brokerId],...")
		}
		if _, err := strconv.ParseInt(strings.TrimSpace(p), 10, 32); err != nil {
			return fmt.Errorf("must be the literal '*' or a list of replicas in the format [partitionId]:[brokerId],[partitionId]:[brokerId],...")
		}
		if _, err := strconv.ParseInt(strings.TrimSpace(b), 10, 32); err != nil {
			return fmt.Errorf("must be the literal '*' or a list of replicas in the format [partitionId]:[brokerId],[partitionId]:[brokerId],...")
		}
	}
	return nil
}

// topicConfigs are the topic-level config keys Kafka 3.9 accepts
// (TopicConfig / LogConfig), with their value rules.
var topicConfigs = map[string]configCheck{
	"cleanup.policy":                          cleanupPolicy,
	"compression.type":                        oneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
	"compression.gzip.level":                  intAtLeast(-1),
	"compression.lz4.level":                   intAtLeast(1),
	"compression.zstd.level":                  intAtLeast(-131072),
	"delete.retention.ms":                     longAtLeast(0),
	"file.delete.delay.ms":                    longAtLeast(0),
	"flush.messages":                          longAtLeast(1),
	"flush.ms":                                longAtLeast(0),
	"follower.replication.throttled.replicas": throttledReplicas,
	"leader.replication.throttled.replicas":   throttledReplicas,
	"index.interval.bytes":                    intAtLeast(0),
	"local.retention.bytes":                   longAtLeast(-2),
	"local.retention.ms":                      longAtLeast(-2),
	"max.compaction.lag.ms":                   longAtLeast(1),
	"max.message.bytes":                       intAtLeast(0),
	"message.downconversion.enable":           boolean,
	"message.format.version":                  nil,
	"message.timestamp.after.max.ms":          longAtLeast(0),
	"message.timestamp.before.max.ms":         longAtLeast(0),
	"message.timestamp.difference.max.ms":     longAtLeast(0),
	"message.timestamp.type":                  oneOf("CreateTime", "LogAppendTime"),
	"min.cleanable.dirty.ratio":               ratio,
	"min.compaction.lag.ms":                   longAtLeast(0),
	"min.insync.replicas":                     intAtLeast(1),
	"preallocate":                             boolean,
	"remote.log.copy.disable":                 boolean,
	"remote.log.delete.on.disable":            boolean,
	"remote.storage.enable":                   boolean,
	"retention.bytes":                         longAtLeast(math.MinInt64),
	"retention.ms":                            longAtLeast(-1),
	"segment.bytes":                           intAtLeast(14),
	"segment.index.bytes":                     intAtLeast(4),
	"segment.jitter.ms":                       longAtLeast(0),
	"segment.ms":                              longAtLeast(1),
	"unclean.leader.election.enable":          boolean,
}

// IsTopicConfig reports whether key is a known topic config key.
func IsTopicConfig(key string) bool {
	_, ok := topicConfigs[key]
	return ok
}

// ValidateTopicConfigs checks topic-level configs: an unknown key or a bad
// value returns an error wrapping ErrInvalidConfig that names the key. Keys
// are checked in sorted order so the error is deterministic.
func ValidateTopicConfigs(cfgs map[string]string) error {
	keys := make([]string, 0, len(cfgs))
	for k := range cfgs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		check, ok := topicConfigs[k]
		if !ok {
			return fmt.Errorf("unknown topic config %q: %w", k, ErrInvalidConfig)
		}
		if check == nil {
			continue
		}
		if err := check(cfgs[k]); err != nil {
			return fmt.Errorf("topic config %s=%q: %v: %w", k, cfgs[k], err, ErrInvalidConfig)
		}
	}
	return nil
}

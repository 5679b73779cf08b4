package metadata

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Config alterations: IncrementalAlterConfigs (44) and AlterConfigs (33),
// Kafka's ConfigurationControlManager.incrementalAlterConfigs /
// legacyAlterConfigs as a pure function of the image. Both metadata
// modes call it: the quorum's active controller, and a ZooKeeper-mode
// broker before it writes /config/<type>/<name>.
//
// Resources are topics (TopicResource, the topic must exist) and brokers
// (BrokerResource, name = a broker id or "" for the cluster default,
// ZooKeeper's /config/brokers/<default>). Topic keys are checked as
// CreateTopics checks them (ValidateTopicConfigs); broker keys against
// brokerConfigs: the dynamic ones with their value rules, the static
// ones refused as not dynamically updatable, anything else unknown.

// ConfigOpType is Kafka's AlterConfigOp.OpType.
type ConfigOpType int8

// The operations of IncrementalAlterConfigs.
const (
	ConfigOpSet      ConfigOpType = 0
	ConfigOpDelete   ConfigOpType = 1
	ConfigOpAppend   ConfigOpType = 2
	ConfigOpSubtract ConfigOpType = 3
)

func (o ConfigOpType) String() string {
	switch o {
	case ConfigOpSet:
		return "SET"
	case ConfigOpDelete:
		return "DELETE"
	case ConfigOpAppend:
		return "APPEND"
	case ConfigOpSubtract:
		return "SUBTRACT"
	}
	return "OP_" + strconv.Itoa(int(o))
}

// ConfigOp is one operation on one key. Value is nil only for DELETE.
type ConfigOp struct {
	Op    ConfigOpType
	Name  string
	Value *string
}

// ConfigAlteration is the alteration of one resource. Replace is
// AlterConfigs' semantics: every Op is a SET and the keys it does not
// name are removed (the resource's whole config set is replaced).
type ConfigAlteration struct {
	ResourceType int8
	ResourceName string
	Ops          []ConfigOp
	Replace      bool
}

// Dynamic broker config keys (Kafka's DynamicBrokerConfig): a value set
// for one broker (/config/brokers/<id>) wins over the cluster default
// (/config/brokers/<default>), which wins over the broker's static file.
const (
	LeaderReplicationThrottledRateKey   = "leader.replication.throttled.rate"
	FollowerReplicationThrottledRateKey = "follower.replication.throttled.rate"
	LeaderThrottledReplicasKey          = "leader.replication.throttled.replicas"
	FollowerThrottledReplicasKey        = "follower.replication.throttled.replicas"
)

// brokerConfigs are the broker keys that may be set dynamically, with
// their value rules (DynamicBrokerConfig.AllDynamicConfigs, the ones
// zkraft honours).
var brokerConfigs = map[string]configCheck{
	"log.retention.ms":                  longAtLeast(-1),
	"log.retention.bytes":               longAtLeast(-1),
	"log.segment.bytes":                 intAtLeast(14),
	"log.cleanup.policy":                cleanupPolicy,
	"log.message.timestamp.type":        oneOf("CreateTime", "LogAppendTime"),
	"log.cleaner.delete.retention.ms":   longAtLeast(0),
	"log.cleaner.min.cleanable.ratio":   ratio,
	"message.max.bytes":                 intAtLeast(0),
	"min.insync.replicas":               intAtLeast(1),
	UncleanLeaderElectionKey:            boolean,
	"compression.type":                  oneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
	LeaderReplicationThrottledRateKey:   longAtLeast(0),
	FollowerReplicationThrottledRateKey: longAtLeast(0),
}

// staticBrokerConfigs are broker keys that only the broker's own file
// sets: an alteration naming one is refused as not dynamic.
var staticBrokerConfigs = map[string]bool{
	"broker.id": true, "node.id": true, "listeners": true, "advertised.listeners": true,
	"listener.security.protocol.map": true, "inter.broker.listener.name": true,
	"log.dirs": true, "log.dir": true, "metadata.log.dir": true, "process.roles": true,
	"controller.quorum.voters": true, "controller.listener.names": true,
	"zookeeper.connect": true, "zookeeper.metadata.migration.enable": true,
	"num.partitions": true, "default.replication.factor": true,
	"auto.create.topics.enable": true, "offsets.topic.num.partitions": true,
	"offsets.topic.replication.factor": true, "log.cleaner.threads": true,
	"socket.request.max.bytes": true, "replica.lag.time.max.ms": true,
	"authorizer.class.name": true, "super.users": true, "cluster.id": true,
	"sasl.enabled.mechanisms": true, "ssl.keystore.location": true,
	"group.initial.rebalance.delay.ms": true, "log.retention.hours": true,
	"log.retention.minutes": true,
}

// listConfigs are the list-typed keys APPEND and SUBTRACT apply to,
// with the default a list operation starts from when the key is unset.
var listConfigs = map[ConfigResource]string{
	{TopicResource, "cleanup.policy"}:             "delete",
	{TopicResource, LeaderThrottledReplicasKey}:   "",
	{TopicResource, FollowerThrottledReplicasKey}: "",
	{BrokerResource, "log.cleanup.policy"}:        "delete",
}

// IsDynamicBrokerConfig reports whether key may be set on a broker
// resource.
func IsDynamicBrokerConfig(key string) bool {
	_, ok := brokerConfigs[key]
	return ok
}

// BrokerConfigValue is the dynamic value of a broker key for brokerID:
// its own /config/brokers/<id> value, else the cluster default's, with
// the resource it came from (name "" = the default). ok is false when
// neither sets it (the broker's static config applies).
func BrokerConfigValue(img *Image, brokerID int32, key string) (value string, fromDefault bool, ok bool) {
	if v, ok := img.Configs(BrokerResource, strconv.Itoa(int(brokerID)))[key]; ok {
		return v, false, true
	}
	if v, ok := img.Configs(BrokerResource, "")[key]; ok {
		return v, true, true
	}
	return "", false, false
}

// AlterConfigs validates each alteration against img (all or nothing per
// resource) and returns the ConfigRecords of the valid ones and one error
// per alteration (nil = altered). A resource named twice fails both
// times (INVALID_REQUEST, as Kafka). Setting a key to its current value,
// or deleting an absent one, writes nothing.
func AlterConfigs(img *Image, alts []ConfigAlteration) ([]Record, []error) {
	errs := make([]error, len(alts))
	count := map[ConfigResource]int{}
	for _, a := range alts {
		count[ConfigResource{a.ResourceType, a.ResourceName}]++
	}
	var recs []Record
	for i, a := range alts {
		res := ConfigResource{a.ResourceType, a.ResourceName}
		if count[res] > 1 {
			errs[i] = fmt.Errorf("resource %s is named more than once: %w", res, ErrInvalidRequest)
			continue
		}
		next, err := alteredConfigs(img, a)
		if err != nil {
			errs[i] = err
			continue
		}
		cur := img.Configs(a.ResourceType, a.ResourceName)
		for _, k := range slices.Sorted(maps.Keys(cur)) {
			if _, keep := next[k]; !keep {
				recs = append(recs, &ConfigRecord{ResourceType: a.ResourceType, ResourceName: a.ResourceName, Name: k})
			}
		}
		for _, k := range slices.Sorted(maps.Keys(next)) {
			if old, ok := cur[k]; ok && old == next[k] {
				continue
			}
			v := next[k]
			recs = append(recs, &ConfigRecord{ResourceType: a.ResourceType, ResourceName: a.ResourceName, Name: k, Value: &v})
		}
	}
	return recs, errs
}

// String is "TOPIC orders", "BROKER 1", "BROKER <default>".
func (r ConfigResource) String() string {
	switch r.Type {
	case TopicResource:
		return "TOPIC " + r.Name
	case BrokerResource:
		if r.Name == "" {
			return "BROKER <default>"
		}
		return "BROKER " + r.Name
	}
	return fmt.Sprintf("resource type %d %q", r.Type, r.Name)
}

// alteredConfigs is the resource's config set after a, or the error that
// refuses a.
func alteredConfigs(img *Image, a ConfigAlteration) (map[string]string, error) {
	res := ConfigResource{a.ResourceType, a.ResourceName}
	switch a.ResourceType {
	case TopicResource:
		if err := ValidateTopicName(a.ResourceName); err != nil {
			return nil, err
		}
		if _, ok := img.Topic(a.ResourceName); !ok {
			return nil, fmt.Errorf("topic %q: %w", a.ResourceName, ErrUnknownTopic)
		}
	case BrokerResource:
		if a.ResourceName != "" {
			if id, err := strconv.ParseInt(a.ResourceName, 10, 32); err != nil || id < 0 {
				return nil, fmt.Errorf("broker resource name %q is not a broker id or empty: %w", a.ResourceName, ErrInvalidRequest)
			}
		}
	case BrokerLoggerResource:
		return nil, fmt.Errorf("BROKER_LOGGER configs are not supported: %w", ErrInvalidRequest)
	default:
		return nil, fmt.Errorf("config resource type %d is not supported: %w", a.ResourceType, ErrInvalidRequest)
	}
	next := img.Configs(a.ResourceType, a.ResourceName)
	if a.Replace {
		next = map[string]string{}
	}
	seen := map[string]bool{}
	var changed []string
	for _, op := range a.Ops {
		if seen[op.Name] {
			return nil, fmt.Errorf("%s: config %q is altered more than once: %w", res, op.Name, ErrInvalidRequest)
		}
		seen[op.Name] = true
		if a.Replace && op.Op != ConfigOpSet {
			return nil, fmt.Errorf("%s: AlterConfigs only sets: %w", res, ErrInvalidRequest)
		}
		if op.Op != ConfigOpDelete && op.Value == nil {
			return nil, fmt.Errorf("%s: null value not supported for %s: %w", res, op.Name, ErrInvalidRequest)
		}
		switch op.Op {
		case ConfigOpSet:
			next[op.Name] = *op.Value
		case ConfigOpDelete:
			delete(next, op.Name)
			continue
		case ConfigOpAppend, ConfigOpSubtract:
			def, isList := listConfigs[ConfigResource{a.ResourceType, op.Name}]
			if !isList {
				return nil, fmt.Errorf("%s: config value %s is not allowed for config key %s (not a list): %w",
					res, strings.ToLower(op.Op.String()), op.Name, ErrInvalidRequest)
			}
			cur, ok := next[op.Name]
			if !ok {
				cur = def
			}
			next[op.Name] = listOp(cur, *op.Value, op.Op == ConfigOpAppend)
		default:
			return nil, fmt.Errorf("%s: config %q: unknown operation %d: %w", res, op.Name, op.Op, ErrInvalidRequest)
		}
		changed = append(changed, op.Name)
	}
	if a.Replace {
		changed = slices.Collect(maps.Keys(next))
	}
	slices.Sort(changed)
	for _, k := range changed {
		if err := validateConfig(res, k, next[k]); err != nil {
			return nil, err
		}
	}
	return next, nil
}

// listOp appends the elements of vals to cur (keeping order, no
// duplicates) or subtracts them.
func listOp(cur, vals string, add bool) string {
	split := func(s string) []string {
		var out []string
		for _, e := range strings.Split(s, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
		return out
	}
	list := split(cur)
	for _, v := range split(vals) {
		if add {
			if !slices.Contains(list, v) {
				list = append(list, v)
			}
			continue
		}
		list = slices.DeleteFunc(list, func(e string) bool { return e == v })
	}
	return strings.Join(list, ",")
}

// validateConfig checks one key of a resource's new set.
func validateConfig(res ConfigResource, key, value string) error {
	if res.Type == TopicResource {
		return ValidateTopicConfigs(map[string]string{key: value})
	}
	check, ok := brokerConfigs[key]
	switch {
	case !ok && staticBrokerConfigs[key]:
		return fmt.Errorf("broker config %s cannot be updated dynamically (it is read-only: set it in server.properties and restart): %w", key, ErrInvalidConfig)
	case !ok:
		return fmt.Errorf("unknown broker config %q (the dynamic broker configs are %s): %w", key,
			strings.Join(slices.Sorted(maps.Keys(brokerConfigs)), ", "), ErrInvalidConfig)
	}
	if err := check(value); err != nil {
		return fmt.Errorf("broker config %s=%q: %v: %w", key, value, err, ErrInvalidConfig)
	}
	return nil
}

// ConfigsAltered reports whether img shows the alterations that
// succeeded (errs from AlterConfigs, nil entries): the keys each SET
// with their value, the deleted keys absent, appended elements present
// and subtracted ones absent, and for a Replace no other key.
func ConfigsAltered(img *Image, alts []ConfigAlteration, errs []error) bool {
	for i, a := range alts {
		if i < len(errs) && errs[i] != nil {
			continue
		}
		cur := img.Configs(a.ResourceType, a.ResourceName)
		if a.Replace && len(cur) != len(a.Ops) {
			return false
		}
		for _, op := range a.Ops {
			v, ok := cur[op.Name]
			switch op.Op {
			case ConfigOpSet:
				if !ok || op.Value == nil || v != *op.Value {
					return false
				}
			case ConfigOpDelete:
				if ok {
					return false
				}
			case ConfigOpAppend, ConfigOpSubtract:
				if op.Value == nil || listOp(v, *op.Value, op.Op == ConfigOpAppend) != v {
					return false
				}
			}
		}
	}
	return true
}

package topics

// The Kafka requests behind each command. Nothing here formats output.

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Requester sends one Kafka request and returns its response. *kgo.Client
// implements it, routing admin requests (CreateTopics, DeleteTopics,
// CreatePartitions) to the controller it learns from Metadata, and
// retrying NOT_CONTROLLER. Safe for concurrent use.
type Requester interface {
	Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error)
}

// Kafka's internal topics (Topic.isInternal), also when a broker does not
// set is_internal.
var internalNames = map[string]bool{"__consumer_offsets": true, "__transaction_state": true}

// topicMeta is one topic of a Metadata response.
type topicMeta struct {
	name     string
	internal bool
	meta     kmsg.MetadataResponseTopic
}

// fetchMetadata asks for the named topics (nil: every topic), never
// creating any.
func fetchMetadata(ctx context.Context, r Requester, names []string) (*kmsg.MetadataResponse, error) {
	req := kmsg.NewPtrMetadataRequest()
	if names != nil {
		req.Topics = []kmsg.MetadataRequestTopic{}
		for _, n := range names {
			t := kmsg.NewMetadataRequestTopic()
			t.Topic = kmsg.StringPtr(n)
			req.Topics = append(req.Topics, t)
		}
	}
	req.AllowAutoTopicCreation = false
	resp, err := req.RequestWith(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return resp, nil
}

// listTopics returns every topic f selects, by name, minus the internal
// ones when excludeInternal; unsorted.
func listTopics(ctx context.Context, r Requester, f topicFilter, excludeInternal bool) ([]topicMeta, error) {
	resp, err := fetchMetadata(ctx, r, nil)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	var out []topicMeta
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		tm := topicMeta{name: *t.Topic, internal: t.IsInternal || internalNames[*t.Topic], meta: t}
		if (excludeInternal && tm.internal) || !f.match(tm.name) {
			continue
		}
		out = append(out, tm)
	}
	return out, nil
}

// selectTopics resolves --topic for describe, delete and alter: an exact
// name is looked up by name (UNKNOWN_TOPIC_OR_PARTITION is an empty
// answer); a pattern is matched against every topic and matching none is
// ErrNoTopic unless ifExists.
func selectTopics(ctx context.Context, r Requester, op string, f topicFilter, excludeInternal, ifExists bool) ([]topicMeta, error) {
	if f.exact == "" {
		ts, err := listTopics(ctx, r, f, excludeInternal)
		if err != nil {
			return nil, err
		}
		if len(ts) == 0 && f.re != nil && !ifExists {
			return nil, fmt.Errorf("%s: %w: no topic matches %q", op, ErrNoTopic, f.re.String())
		}
		return ts, nil
	}
	resp, err := fetchMetadata(ctx, r, []string{f.exact})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, f.exact, err)
	}
	for _, t := range resp.Topics {
		if t.Topic == nil || *t.Topic != f.exact {
			continue
		}
		switch t.ErrorCode {
		case 0, kerr.LeaderNotAvailable.Code:
		case kerr.UnknownTopicOrPartition.Code:
			if ifExists {
				return nil, nil
			}
			return nil, kafkaErr(op, f.exact, t.ErrorCode, nil)
		default:
			return nil, kafkaErr(op, f.exact, t.ErrorCode, nil)
		}
		tm := topicMeta{name: f.exact, internal: t.IsInternal || internalNames[f.exact], meta: t}
		if excludeInternal && tm.internal {
			if ifExists {
				return nil, nil
			}
			return nil, fmt.Errorf("%s %s: %w: it is internal and --exclude-internal hides it", op, f.exact, ErrNoTopic)
		}
		return []topicMeta{tm}, nil
	}
	return nil, fmt.Errorf("%s %s: %w: the metadata response does not list it", op, f.exact, ErrBadResponse)
}

// description is what --describe shows of one topic.
type description struct {
	Name              string            `json:"name"`
	TopicID           string            `json:"topicId,omitempty"`
	Internal          bool              `json:"internal"`
	PartitionCount    int               `json:"partitionCount"`
	ReplicationFactor int               `json:"replicationFactor"`
	Configs           map[string]string `json:"configs"` // non-default only
	Partitions        []partition       `json:"partitions"`
}

// partition is one partition line of --describe.
type partition struct {
	Partition int32   `json:"partition"`
	Leader    int32   `json:"leader"` // -1: none
	Replicas  []int32 `json:"replicas"`
	Isr       []int32 `json:"isr"`
	Offline   []int32 `json:"offline,omitempty"`
}

// describeTopics builds the descriptions of the selected topics, sorted by
// name: Metadata for partitions, DescribeConfigs for configs.
func describeTopics(ctx context.Context, r Requester, f topicFilter, excludeInternal, ifExists bool) ([]description, error) {
	ts, err := selectTopics(ctx, r, "describe topic", f, excludeInternal, ifExists)
	if err != nil || len(ts) == 0 {
		return nil, err
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	configs, err := describeConfigs(ctx, r, ts)
	if err != nil {
		return nil, err
	}
	out := make([]description, 0, len(ts))
	for _, t := range ts {
		out = append(out, describeOne(t, configs[t.name]))
	}
	return out, nil
}

// describeOne turns a topic's metadata and non-default configs into its
// description.
func describeOne(t topicMeta, configs map[string]string) description {
	d := description{Name: t.name, Internal: t.internal, Configs: configs, Partitions: []partition{}}
	if d.Configs == nil {
		d.Configs = map[string]string{}
	}
	if t.meta.TopicID != [16]byte{} {
		d.TopicID = base64.RawURLEncoding.EncodeToString(t.meta.TopicID[:])
	}
	for _, p := range t.meta.Partitions {
		d.Partitions = append(d.Partitions, partition{
			Partition: p.Partition,
			Leader:    p.Leader,
			Replicas:  nonNil(p.Replicas),
			Isr:       nonNil(p.ISR),
			Offline:   p.OfflineReplicas,
		})
	}
	sort.Slice(d.Partitions, func(i, j int) bool { return d.Partitions[i].Partition < d.Partitions[j].Partition })
	d.PartitionCount = len(d.Partitions)
	if len(d.Partitions) > 0 {
		d.ReplicationFactor = len(d.Partitions[0].Replicas)
	}
	return d
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

// describeConfigs returns the non-default configs of each topic, by name,
// in one DescribeConfigs request.
func describeConfigs(ctx context.Context, r Requester, ts []topicMeta) (map[string]map[string]string, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	for _, t := range ts {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, t.name
		req.Resources = append(req.Resources, rr)
	}
	resp, err := req.RequestWith(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("describe configs of %d topics: %w", len(ts), err)
	}
	out := make(map[string]map[string]string, len(ts))
	for _, res := range resp.Resources {
		if res.ResourceType != kmsg.ConfigResourceTypeTopic {
			continue
		}
		if err := kafkaErr("describe configs of topic", res.ResourceName, res.ErrorCode, res.ErrorMessage); err != nil {
			return nil, err
		}
		out[res.ResourceName] = nonDefault(res.Configs)
	}
	for _, t := range ts {
		if _, ok := out[t.name]; !ok {
			return nil, fmt.Errorf("describe configs of topic %s: %w: the response does not list it", t.name, ErrBadResponse)
		}
	}
	return out, nil
}

// nonDefault keeps the entries Kafka's describe shows: source other than
// DEFAULT_CONFIG (ConfigEntry.isDefault); with no source (v0), !is_default.
// A null value (sensitive) reads "null", as in Kafka.
func nonDefault(cs []kmsg.DescribeConfigsResponseResourceConfig) map[string]string {
	out := map[string]string{}
	for _, c := range cs {
		def := c.Source == kmsg.ConfigSourceDefaultConfig
		if c.Source == kmsg.ConfigSourceUnknown || c.Source == -1 {
			def = c.IsDefault
		}
		if def {
			continue
		}
		v := "null"
		if c.Value != nil {
			v = *c.Value
		}
		out[c.Name] = v
	}
	return out
}

// createSpec is one topic to create; -1 leaves partitions or replication
// factor to the broker's default.
type createSpec struct {
	name              string
	partitions        int32
	replicationFactor int16
	configs           map[string]string
}

// createTopic sends CreateTopics for one topic. created is false when the
// topic existed and ifNotExists.
func createTopic(ctx context.Context, r Requester, s createSpec, ifNotExists bool, timeout time.Duration) (created bool, err error) {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = millis(timeout)
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = s.name, s.partitions, s.replicationFactor
	keys := make([]string, 0, len(s.configs))
	for k := range s.configs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(s.configs[k])
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, r)
	if err != nil {
		return false, fmt.Errorf("create topic %s: %w", s.name, err)
	}
	for _, t := range resp.Topics {
		if t.Topic != s.name {
			continue
		}
		if t.ErrorCode == kerr.TopicAlreadyExists.Code && ifNotExists {
			return false, nil
		}
		if err := kafkaErr("create topic", s.name, t.ErrorCode, t.ErrorMessage); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, fmt.Errorf("create topic %s: %w: the response does not list it", s.name, ErrBadResponse)
}

// deleteTopics deletes the topics f selects: an exact name is sent as is
// (the broker says whether it exists), a pattern's matches in one request.
func deleteTopics(ctx context.Context, r Requester, f topicFilter, ifExists bool, timeout time.Duration) error {
	names := []string{f.exact}
	if f.exact == "" {
		ts, err := selectTopics(ctx, r, "delete topic", f, false, ifExists)
		if err != nil {
			return err
		}
		names = names[:0]
		for _, t := range ts {
			names = append(names, t.name)
		}
		sort.Strings(names)
		if len(names) == 0 {
			return nil
		}
	}
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TimeoutMillis = millis(timeout)
	for _, n := range names {
		req.TopicNames = append(req.TopicNames, n) // v0-5
		t := kmsg.NewDeleteTopicsRequestTopic()    // v6+
		t.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, t)
	}
	resp, err := req.RequestWith(ctx, r)
	if err != nil {
		return fmt.Errorf("delete topic %s: %w", names[0], err)
	}
	answered := map[string]bool{}
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		answered[*t.Topic] = true
		if t.ErrorCode == kerr.UnknownTopicOrPartition.Code && ifExists {
			continue
		}
		if err := kafkaErr("delete topic", *t.Topic, t.ErrorCode, t.ErrorMessage); err != nil {
			return err
		}
	}
	for _, n := range names {
		if !answered[n] {
			return fmt.Errorf("delete topic %s: %w: the response does not list it", n, ErrBadResponse)
		}
	}
	return nil
}

// createPartitionsKey is Kafka's CreatePartitions API key.
const createPartitionsKey = 37

// alterPartitions grows the selected topics to count partitions, after
// checking that the broker offers CreatePartitions at all.
func alterPartitions(ctx context.Context, r Requester, f topicFilter, count int32, ifExists bool, timeout time.Duration) error {
	what := f.exact
	if what == "" {
		what = f.re.String()
	}
	if err := requireAPI(ctx, r, createPartitionsKey, "CreatePartitions"); err != nil {
		return fmt.Errorf("alter topic %s: %w", what, err)
	}
	names := []string{f.exact}
	if f.exact == "" {
		ts, err := selectTopics(ctx, r, "alter topic", f, false, ifExists)
		if err != nil {
			return err
		}
		names = names[:0]
		for _, t := range ts {
			names = append(names, t.name)
		}
		sort.Strings(names)
		if len(names) == 0 {
			return nil
		}
	}
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.TimeoutMillis = millis(timeout)
	for _, n := range names {
		t := kmsg.NewCreatePartitionsRequestTopic()
		t.Topic, t.Count = n, count
		req.Topics = append(req.Topics, t)
	}
	resp, err := req.RequestWith(ctx, r)
	if err != nil {
		return fmt.Errorf("alter topic %s: %w", what, err)
	}
	answered := map[string]bool{}
	for _, t := range resp.Topics {
		answered[t.Topic] = true
		if t.ErrorCode == kerr.UnknownTopicOrPartition.Code && ifExists {
			continue
		}
		if err := kafkaErr("alter topic", t.Topic, t.ErrorCode, t.ErrorMessage); err != nil {
			return err
		}
	}
	for _, n := range names {
		if !answered[n] {
			return fmt.Errorf("alter topic %s: %w: the response does not list it", n, ErrBadResponse)
		}
	}
	return nil
}

// requireAPI fails with ErrUnsupported when the broker's ApiVersions does
// not list key.
func requireAPI(ctx context.Context, r Requester, key int16, name string) error {
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, r)
	if err != nil {
		return fmt.Errorf("api versions: %w", err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return fmt.Errorf("api versions: %w", err)
	}
	for _, k := range resp.ApiKeys {
		if k.ApiKey == key {
			return nil
		}
	}
	return fmt.Errorf("%w: the broker does not offer the %s API (key %d), so partitions cannot be added to a topic", ErrUnsupported, name, key)
}

// millis converts a timeout to a request's timeout_millis.
func millis(d time.Duration) int32 {
	ms := d.Milliseconds()
	if ms > 1<<31-1 {
		ms = 1<<31 - 1
	}
	return int32(ms)
}

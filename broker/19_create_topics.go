package broker

// CreateTopics (key 19), versions 2-7.
//
// Forwarded to the Controller in one call, which applies its own
// num.partitions and default.replication.factor for -1 (as a KRaft
// controller does). A topic named twice in one request is INVALID_REQUEST,
// as in Kafka. validate_only runs the controller's
// checks without writing. Controller errors are typed metadata errors
// mapped once in errors.go (TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION,
// INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR, INVALID_CONFIG, ...); the
// error message is returned (v1+). From v5 a created topic is described
// (partitions, replication factor, configs) and from v7 its id is returned.
// The request's timeout bounds the controller call (REQUEST_TIMED_OUT).

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleCreateTopics(ctx context.Context, nreq *network.Request, req *kmsg.CreateTopicsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	count := make(map[string]int, len(req.Topics))
	for _, t := range req.Topics {
		count[t.Topic]++
	}
	errs := make([]error, len(req.Topics))
	specs := make([]metadata.CreateTopicSpec, 0, len(req.Topics))
	specIdx := make([]int, 0, len(req.Topics))
	for i, t := range req.Topics {
		if count[t.Topic] > 1 {
			errs[i] = fmt.Errorf("%w: %q", ErrDuplicateTopic, t.Topic)
			continue
		}
		if !b.mayCreateTopic(nreq, t.Topic) {
			errs[i] = fmt.Errorf("%w: CREATE on topic %q", ErrTopicAuthorization, t.Topic)
			continue
		}
		spec, err := b.createSpec(t)
		if err != nil {
			errs[i] = err
			continue
		}
		specs = append(specs, spec)
		specIdx = append(specIdx, i)
	}
	if len(specs) > 0 {
		cctx, cancel := b.requestContext(ctx, req.TimeoutMillis)
		cerrs := b.ctrl.CreateTopics(cctx, specs, req.ValidateOnly)
		cancel()
		for j, i := range specIdx {
			if j < len(cerrs) {
				errs[i] = cerrs[j]
			} else {
				errs[i] = fmt.Errorf("%w: controller gave %d answers for %d topics", ErrInvalidRequest, len(cerrs), len(specs))
			}
		}
	}

	img := b.Image()
	specByName := make(map[string]metadata.CreateTopicSpec, len(specs))
	for _, s := range specs {
		specByName[s.Name] = s
	}
	for i, t := range req.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = t.Topic
		if errs[i] != nil {
			rt.ErrorCode, rt.ErrorMessage = errorCode(errs[i]), errorMessage(errs[i])
			resp.Topics = append(resp.Topics, rt)
			continue
		}
		b.logger.Info("created topic", zap.String("topic", t.Topic), zap.Bool("validate_only", req.ValidateOnly))
		spec := specByName[t.Topic]
		rt.NumPartitions, rt.ReplicationFactor = spec.NumPartitions, spec.ReplicationFactor
		if len(spec.Assignments) > 0 {
			rt.NumPartitions = int32(len(spec.Assignments))
			for _, r := range spec.Assignments {
				rt.ReplicationFactor = int16(len(r))
				break
			}
		}
		overrides := spec.Configs
		if ti, ok := img.Topic(t.Topic); ok && !req.ValidateOnly {
			rt.TopicID = ti.ID
			rt.NumPartitions = ti.NumPartitions()
			for _, p := range ti.Partitions {
				rt.ReplicationFactor = int16(len(p.Replicas))
				break
			}
			overrides = img.Configs(metadata.TopicResource, t.Topic)
		}
		for _, e := range b.topicConfigEntries(overrides) {
			c := kmsg.NewCreateTopicsResponseTopicConfig()
			c.Name, c.Value, c.ReadOnly, c.Source = e.name, strPtr(e.value), e.readOnly, int8(e.source)
			rt.Configs = append(rt.Configs, c)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// createSpec turns one requested topic into the controller's spec.
func (b *Broker) createSpec(t kmsg.CreateTopicsRequestTopic) (metadata.CreateTopicSpec, error) {
	spec := metadata.CreateTopicSpec{Name: t.Topic, NumPartitions: t.NumPartitions, ReplicationFactor: t.ReplicationFactor}
	if len(t.ReplicaAssignment) > 0 {
		if t.NumPartitions != -1 || t.ReplicationFactor != -1 {
			return spec, fmt.Errorf("%w: topic %q has a replica assignment and num_partitions %d, replication_factor %d (both must be -1)",
				ErrInvalidRequest, t.Topic, t.NumPartitions, t.ReplicationFactor)
		}
		spec.Assignments = make(map[int32][]int32, len(t.ReplicaAssignment))
		for _, a := range t.ReplicaAssignment {
			if _, dup := spec.Assignments[a.Partition]; dup {
				return spec, fmt.Errorf("%w: topic %q assigns partition %d twice", ErrInvalidRequest, t.Topic, a.Partition)
			}
			spec.Assignments[a.Partition] = append([]int32{}, a.Replicas...)
		}
	}
	if len(t.Configs) > 0 {
		spec.Configs = make(map[string]string, len(t.Configs))
		for _, c := range t.Configs {
			if c.Value != nil {
				spec.Configs[c.Name] = *c.Value
			}
		}
	}
	return spec, nil
}

// requestContext bounds a controller call by the request's own timeout,
// or by Config.ControllerTimeout when it has none.
func (b *Broker) requestContext(ctx context.Context, timeoutMillis int32) (context.Context, context.CancelFunc) {
	d := b.cfg.ControllerTimeout
	if timeoutMillis > 0 {
		d = time.Duration(timeoutMillis) * time.Millisecond
	}
	return context.WithTimeout(ctx, d)
}

package quorum

// The partition writes (CreatePartitions 37, ElectLeaders 43) and the
// automatic preferred-leader rebalance: brokers forward the requests over
// the Kafka protocol (Client), the controller listener hands them to the
// Node, which decides with metadata's pure logic (CreatePartitions,
// ElectLeaders, ImbalancedPartitions) against the image and appends the
// records as one raft entry (Node.write), as Kafka's ControllerApis and
// ReplicationControlManager do. They are refused in PRE_MIGRATION like
// every other write; during dual-write the migration driver mirrors the
// PartitionRecords (new state znodes and the rewritten /brokers/topics/<t>)
// and PartitionChangeRecords (state znodes) to ZooKeeper.

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// CreatePartitions adds partitions to each topic (one raft entry per
// topic) and returns one error per spec. A topic named twice is
// metadata.ErrInvalidRequest for every occurrence.
func (n *Node) CreatePartitions(ctx context.Context, specs []metadata.CreatePartitionsSpec, validateOnly bool) []error {
	errs := make([]error, len(specs))
	seen := make(map[string]int, len(specs))
	for _, s := range specs {
		seen[s.Topic]++
	}
	for i, spec := range specs {
		if seen[spec.Topic] > 1 {
			errs[i] = fmt.Errorf("create partitions of %q: named %d times in one request: %w", spec.Topic, seen[spec.Topic], metadata.ErrInvalidRequest)
			continue
		}
		what := "create partitions of " + spec.Topic
		_, errs[i] = n.write(ctx, what, func(img *metadata.Image) ([]metadata.Record, error) {
			if err := refusePreMigration(img, what); err != nil {
				return nil, err
			}
			recs, err := metadata.CreatePartitions(img, spec)
			if err != nil || validateOnly {
				return nil, err
			}
			return recs, nil
		})
		if errs[i] == nil && !validateOnly {
			n.log.Info("created partitions", zap.String("topic", spec.Topic), zap.Int32("count", spec.Count))
		}
	}
	return errs
}

// ElectLeaders runs the elections as one raft entry and returns one result
// per partition (metadata.ElectLeaders; parts nil = all partitions).
func (n *Node) ElectLeaders(ctx context.Context, typ metadata.ElectionType, parts []metadata.TopicPartition) []metadata.ElectionResult {
	var seen []metadata.ElectionResult // what compute answered, for electionFailed
	out, ok := writeEach(ctx, n, "elect leaders", func(img *metadata.Image) ([]metadata.Record, []metadata.ElectionResult) {
		recs, res := metadata.ElectLeaders(img, typ, parts)
		seen = res
		for _, pc := range metadata.UncleanElections(recs) {
			n.log.Error("unclean leader election requested: acknowledged records may be lost",
				zap.String("topic_id", pc.TopicID.String()), zap.Int32("partition", pc.PartitionID), zap.Int32("leader", pc.Leader))
		}
		return recs, res
	}, func(err error) []metadata.ElectionResult { return electionFailed(seen, parts, err) })
	if ok {
		n.log.Info("elected leaders", zap.Stringer("type", typ), zap.Int("partitions", len(out)))
	}
	return out
}

func electionFailed(res []metadata.ElectionResult, parts []metadata.TopicPartition, err error) []metadata.ElectionResult {
	if parts == nil {
		parts = make([]metadata.TopicPartition, len(res))
		for i, r := range res {
			parts[i] = r.TopicPartition
		}
	}
	out := make([]metadata.ElectionResult, len(parts))
	for i, tp := range parts {
		out[i] = metadata.ElectionResult{TopicPartition: tp, Err: err}
	}
	return out
}

// rebalanceInterval is leader.imbalance.check.interval.seconds, or 0 when
// auto.leader.rebalance.enable is off.
func (n *Node) rebalanceInterval() time.Duration {
	c := n.cfg.Controller
	if !c.AutoLeaderRebalance || c.LeaderImbalanceCheckInterval <= 0 {
		return 0
	}
	return c.LeaderImbalanceCheckInterval
}

// rebalanceLeaders is one automatic rebalance pass of the active
// controller: PREFERRED elections for metadata.ImbalancedPartitions.
func (n *Node) rebalanceLeaders(ctx context.Context) {
	parts := metadata.ImbalancedPartitions(n.Image(), n.cfg.Controller.LeaderImbalancePerBrokerPercentage)
	if len(parts) == 0 {
		return
	}
	res := n.ElectLeaders(ctx, metadata.ElectPreferred, parts)
	moved := 0
	for _, r := range res {
		if r.Err == nil {
			moved++
		}
	}
	n.log.Info("automatic leader rebalance", zap.Int("imbalanced", len(parts)), zap.Int("moved", moved))
}

// --- the controller listener -------------------------------------------------

func (h *controllerHandler) createPartitions(ctx context.Context, body *kmsg.CreatePartitionsRequest) kmsg.Response {
	resp := body.ResponseKind().(*kmsg.CreatePartitionsResponse)
	specs := createPartitionsSpecs(body)
	errs := h.n.CreatePartitions(ctx, specs, body.ValidateOnly)
	for i, t := range body.Topics {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = t.Topic
		rt.ErrorCode, rt.ErrorMessage = errorCode(errs[i]), errorMessage(errs[i])
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func createPartitionsSpecs(body *kmsg.CreatePartitionsRequest) []metadata.CreatePartitionsSpec {
	specs := make([]metadata.CreatePartitionsSpec, len(body.Topics))
	for i, t := range body.Topics {
		specs[i] = metadata.CreatePartitionsSpec{Topic: t.Topic, Count: t.Count}
		if t.Assignment != nil {
			specs[i].Assignments = make([][]int32, len(t.Assignment))
			for j, a := range t.Assignment {
				specs[i].Assignments[j] = a.Replicas
			}
		}
	}
	return specs
}

func (h *controllerHandler) electLeaders(ctx context.Context, body *kmsg.ElectLeadersRequest) kmsg.Response {
	resp := body.ResponseKind().(*kmsg.ElectLeadersResponse)
	typ := metadata.ElectPreferred
	if body.Version >= 1 {
		typ = metadata.ElectionType(body.ElectionType)
	}
	resp.Topics = electLeadersTopics(h.n.ElectLeaders(ctx, typ, electLeadersParts(body)))
	return resp
}

func electLeadersParts(body *kmsg.ElectLeadersRequest) []metadata.TopicPartition {
	if body.Topics == nil {
		return nil
	}
	parts := []metadata.TopicPartition{}
	for _, t := range body.Topics {
		for _, p := range t.Partitions {
			parts = append(parts, metadata.TopicPartition{Topic: t.Topic, Partition: p})
		}
	}
	return parts
}

func electLeadersTopics(res []metadata.ElectionResult) []kmsg.ElectLeadersResponseTopic {
	var out []kmsg.ElectLeadersResponseTopic
	byTopic := map[string]int{}
	for _, r := range res {
		i, ok := byTopic[r.Topic]
		if !ok {
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = r.Topic
			out = append(out, rt)
			i = len(out) - 1
			byTopic[r.Topic] = i
		}
		rp := kmsg.NewElectLeadersResponseTopicPartition()
		rp.Partition = r.Partition
		rp.ErrorCode, rp.ErrorMessage = errorCode(r.Err), errorMessage(r.Err)
		out[i].Partitions = append(out[i].Partitions, rp)
	}
	return out
}

// --- the broker's client -----------------------------------------------------

// CreatePartitions forwards to the active controller and returns once this
// broker's image holds the new partitions (broker.PartitionController).
func (c *Client) CreatePartitions(ctx context.Context, specs []metadata.CreatePartitionsSpec, validateOnly bool) []error {
	errs := make([]error, len(specs))
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.Version, req.ValidateOnly = 3, validateOnly
	req.TimeoutMillis = 30000
	for _, s := range specs {
		t := kmsg.NewCreatePartitionsRequestTopic()
		t.Topic, t.Count = s.Topic, s.Count
		if s.Assignments != nil {
			t.Assignment = make([]kmsg.CreatePartitionsRequestTopicAssignment, len(s.Assignments))
			for j, a := range s.Assignments {
				t.Assignment[j] = kmsg.CreatePartitionsRequestTopicAssignment{Replicas: a}
			}
		}
		req.Topics = append(req.Topics, t)
	}
	resp, err := c.call(ctx, "admin", req, func(r kmsg.Response) bool {
		for _, t := range r.(*kmsg.CreatePartitionsResponse).Topics {
			if isNotController(t.ErrorCode) {
				return true
			}
		}
		return false
	})
	if err == nil && len(resp.(*kmsg.CreatePartitionsResponse).Topics) != len(specs) {
		err = fmt.Errorf("create partitions: %d answers for %d topics: %w", len(resp.(*kmsg.CreatePartitionsResponse).Topics), len(specs), kerr.UnknownServerError)
	}
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for i, t := range resp.(*kmsg.CreatePartitionsResponse).Topics {
		errs[i] = codeErrorMessage(t.ErrorCode, t.ErrorMessage)
	}
	if validateOnly {
		return errs
	}
	werr := c.waitImage(ctx, func(img *metadata.Image) bool {
		for i, s := range specs {
			if errs[i] != nil {
				continue
			}
			if t, ok := img.Topic(s.Topic); !ok || t.NumPartitions() < s.Count {
				return false
			}
		}
		return true
	})
	if werr != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = werr
			}
		}
	}
	return errs
}

// ElectLeaders forwards to the active controller and returns once this
// broker's image shows the elected leaders (broker.PartitionController).
func (c *Client) ElectLeaders(ctx context.Context, typ metadata.ElectionType, parts []metadata.TopicPartition) []metadata.ElectionResult {
	req := kmsg.NewPtrElectLeadersRequest()
	req.Version, req.ElectionType, req.TimeoutMillis = 2, int8(typ), 30000
	if parts != nil {
		req.Topics = []kmsg.ElectLeadersRequestTopic{}
		byTopic := map[string]int{}
		for _, tp := range parts {
			i, ok := byTopic[tp.Topic]
			if !ok {
				t := kmsg.NewElectLeadersRequestTopic()
				t.Topic = tp.Topic
				req.Topics = append(req.Topics, t)
				i = len(req.Topics) - 1
				byTopic[tp.Topic] = i
			}
			req.Topics[i].Partitions = append(req.Topics[i].Partitions, tp.Partition)
		}
	}
	resp, err := c.call(ctx, "admin", req, func(r kmsg.Response) bool {
		for _, t := range r.(*kmsg.ElectLeadersResponse).Topics {
			for _, p := range t.Partitions {
				if isNotController(p.ErrorCode) {
					return true
				}
			}
		}
		return false
	})
	if err != nil {
		return electionFailed(nil, parts, err)
	}
	var out []metadata.ElectionResult
	for _, t := range resp.(*kmsg.ElectLeadersResponse).Topics {
		for _, p := range t.Partitions {
			out = append(out, metadata.ElectionResult{TopicPartition: metadata.TopicPartition{Topic: t.Topic, Partition: p.Partition},
				Err: codeErrorMessage(p.ErrorCode, p.ErrorMessage)})
		}
	}
	if werr := c.waitImage(ctx, func(img *metadata.Image) bool { return metadata.ElectionsShown(img, typ, out) }); werr != nil {
		for i := range out {
			if out[i].Err == nil {
				out[i].Err = werr
			}
		}
	}
	return out
}

// CreatePartitions implements broker.PartitionController.
func (s *BrokerSource) CreatePartitions(ctx context.Context, specs []metadata.CreatePartitionsSpec, validateOnly bool) []error {
	return s.client.CreatePartitions(ctx, specs, validateOnly)
}

// ElectLeaders implements broker.PartitionController.
func (s *BrokerSource) ElectLeaders(ctx context.Context, typ metadata.ElectionType, parts []metadata.TopicPartition) []metadata.ElectionResult {
	return s.client.ElectLeaders(ctx, typ, parts)
}

// CreatePartitions implements broker.PartitionController.
func (s *CombinedSource) CreatePartitions(ctx context.Context, specs []metadata.CreatePartitionsSpec, validateOnly bool) []error {
	return s.client.CreatePartitions(ctx, specs, validateOnly)
}

// ElectLeaders implements broker.PartitionController.
func (s *CombinedSource) ElectLeaders(ctx context.Context, typ metadata.ElectionType, parts []metadata.TopicPartition) []metadata.ElectionResult {
	return s.client.ElectLeaders(ctx, typ, parts)
}

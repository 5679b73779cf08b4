package quorum

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// ControllerListenerName names the Kafka-protocol side of the voter port in
// logs and network.Request.Listener.
const ControllerListenerName = "CONTROLLER"

// controllerHandler serves the controller listener (network.Handler). Every
// write goes through the Node, which answers NOT_CONTROLLER unless it is
// the raft leader, so brokers retry on the active controller.
//
// Versions: ApiVersions 0-3, Fetch 12 (metadata log), CreateTopics 2-7,
// DeleteTopics 1-6, CreateAcls 0-3, DeleteAcls 0-3, AlterConfigs 0-2,
// IncrementalAlterConfigs 0-1, AlterPartitionReassignments 0,
// CreatePartitions 0-3, ElectLeaders 0-2, AlterClientQuotas 0-1,
// AlterUserScramCredentials 0, DescribeQuorum 0-1, AlterPartition 2-3,
// FetchSnapshot 0, DescribeCluster 0-1, BrokerRegistration 0-3,
// BrokerHeartbeat 0-1, AllocateProducerIds 0.
type controllerHandler struct{ n *Node }

var (
	_ network.Handler   = (*controllerHandler)(nil)
	_ network.Versioner = (*controllerHandler)(nil)
)

var controllerVersions = map[int16][2]int16{
	1:  {12, 12}, // Fetch (metadata log)
	18: {0, 3},   // ApiVersions
	19: {2, 7},   // CreateTopics
	20: {1, 6},   // DeleteTopics
	30: {0, 3},   // CreateAcls
	31: {0, 3},   // DeleteAcls
	33: {0, 2},   // AlterConfigs
	37: {0, 3},   // CreatePartitions
	43: {0, 2},   // ElectLeaders
	44: {0, 1},   // IncrementalAlterConfigs
	45: {0, 0},   // AlterPartitionReassignments
	49: {0, 1},   // AlterClientQuotas
	51: {0, 0},   // AlterUserScramCredentials
	55: {0, 1},   // DescribeQuorum
	56: {2, 3},   // AlterPartition
	59: {0, 0},   // FetchSnapshot
	60: {0, 1},   // DescribeCluster
	62: {0, 3},   // BrokerRegistration
	63: {0, 1},   // BrokerHeartbeat
	67: {0, 0},   // AllocateProducerIds
}

func (h *controllerHandler) Versions() map[int16][2]int16 { return controllerVersions }

func (h *controllerHandler) Handle(ctx context.Context, req *network.Request) (resp kmsg.Response, err error) {
	n := h.n
	if o := n.cfg.Observer; o != nil {
		start := time.Now()
		defer func() { o.ObserveRequest(req, resp, err, time.Since(start)) }()
	}
	switch body := req.Body.(type) {
	case *kmsg.ApiVersionsRequest:
		resp := kmsg.NewPtrApiVersionsResponse()
		for key, v := range controllerVersions {
			resp.ApiKeys = append(resp.ApiKeys, kmsg.ApiVersionsResponseApiKey{ApiKey: key, MinVersion: v[0], MaxVersion: v[1]})
		}
		return resp, nil

	case *kmsg.BrokerRegistrationRequest:
		resp := kmsg.NewPtrBrokerRegistrationResponse()
		if body.ClusterID != "" && body.ClusterID != n.ClusterID() {
			resp.ErrorCode = kerr.InconsistentClusterID.Code
			return resp, nil
		}
		reg := metadata.BrokerRegistration{ID: body.BrokerID, IncarnationID: metadata.Uuid(body.IncarnationID),
			IsMigratingZkBroker: body.IsMigratingZkBroker}
		if body.Rack != nil {
			reg.Rack = *body.Rack
		}
		for _, l := range body.Listeners {
			reg.Endpoints = append(reg.Endpoints, metadata.Endpoint{Name: l.Name, Host: l.Host, Port: l.Port, SecurityProtocol: l.SecurityProtocol})
		}
		epoch, err := n.RegisterBroker(ctx, reg)
		resp.ErrorCode, resp.BrokerEpoch = errorCode(err), epoch
		return resp, nil

	case *kmsg.BrokerHeartbeatRequest:
		resp := kmsg.NewPtrBrokerHeartbeatResponse()
		res, err := n.BrokerHeartbeat(ctx, Heartbeat{BrokerID: body.BrokerID, BrokerEpoch: body.BrokerEpoch,
			MetadataOffset: body.CurrentMetadataOffset, WantFence: body.WantFence, WantShutDown: body.WantShutdown})
		resp.ErrorCode = errorCode(err)
		resp.IsCaughtUp, resp.IsFenced, resp.ShouldShutdown = res.IsCaughtUp, res.IsFenced || err != nil, res.ShouldShutDown
		return resp, nil

	case *kmsg.CreateTopicsRequest:
		return h.createTopics(ctx, body), nil

	case *kmsg.DeleteTopicsRequest:
		resp := kmsg.NewPtrDeleteTopicsResponse()
		names := append([]string(nil), body.TopicNames...)
		for _, t := range body.Topics {
			name := ""
			if t.Topic != nil {
				name = *t.Topic
			} else if ti, ok := n.Image().TopicByID(metadata.Uuid(t.TopicID)); ok {
				name = ti.Name
			}
			names = append(names, name)
		}
		errs := n.DeleteTopics(ctx, names)
		for i, name := range names {
			name := name
			rt := kmsg.NewDeleteTopicsResponseTopic()
			rt.Topic = &name
			rt.ErrorCode, rt.ErrorMessage = errorCode(errs[i]), errorMessage(errs[i])
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil

	case *kmsg.CreateACLsRequest:
		return h.createAcls(ctx, body), nil

	case *kmsg.DeleteACLsRequest:
		return h.deleteAcls(ctx, body), nil

	case *kmsg.AlterUserSCRAMCredentialsRequest:
		return h.alterScram(ctx, body), nil

	case *kmsg.AlterClientQuotasRequest:
		return h.alterClientQuotas(ctx, body), nil

	case *kmsg.IncrementalAlterConfigsRequest:
		return h.incrementalAlterConfigs(ctx, body), nil

	case *kmsg.AlterConfigsRequest:
		return h.alterConfigs(ctx, body), nil

	case *kmsg.AlterPartitionAssignmentsRequest:
		return h.alterPartitionReassignments(ctx, body), nil

	case *kmsg.CreatePartitionsRequest:
		return h.createPartitions(ctx, body), nil

	case *kmsg.ElectLeadersRequest:
		return h.electLeaders(ctx, body), nil

	case *kmsg.AllocateProducerIDsRequest:
		resp := kmsg.NewPtrAllocateProducerIDsResponse()
		if err := metadata.CheckBrokerEpoch(n.Image(), body.BrokerID, body.BrokerEpoch); err != nil {
			resp.ErrorCode = errorCode(err)
			return resp, nil
		}
		first, count, err := n.AllocateProducerIDs(ctx, body.BrokerID)
		resp.ErrorCode, resp.ProducerIDStart, resp.ProducerIDLen = errorCode(err), first, int32(count)
		return resp, nil

	case *kmsg.AlterPartitionRequest:
		return h.alterPartition(ctx, body), nil

	case *kmsg.DescribeQuorumRequest:
		return h.describeQuorum(body), nil

	case *kmsg.DescribeClusterRequest:
		resp := kmsg.NewPtrDescribeClusterResponse()
		resp.ClusterID = n.ClusterID()
		resp.ControllerID = -1
		if id, ok := n.Leader(); ok {
			resp.ControllerID = id
		}
		for _, b := range n.Image().Brokers() {
			if len(b.Endpoints) == 0 {
				continue
			}
			rb := kmsg.NewDescribeClusterResponseBroker()
			rb.NodeID, rb.Host, rb.Port, rb.IsFenced = b.ID, b.Endpoints[0].Host, int32(b.Endpoints[0].Port), b.Fenced
			resp.Brokers = append(resp.Brokers, rb)
		}
		return resp, nil

	case *kmsg.FetchRequest:
		return h.fetch(ctx, body), nil

	case *kmsg.FetchSnapshotRequest:
		return h.fetchSnapshot(body), nil
	}
	return nil, fmt.Errorf("controller listener: api key %d: %w", req.APIKey, ErrUnsupportedAPI)
}

func (h *controllerHandler) createTopics(ctx context.Context, body *kmsg.CreateTopicsRequest) kmsg.Response {
	resp := kmsg.NewPtrCreateTopicsResponse()
	specs := make([]metadata.CreateTopicSpec, len(body.Topics))
	for i, t := range body.Topics {
		spec := metadata.CreateTopicSpec{Name: t.Topic, NumPartitions: t.NumPartitions, ReplicationFactor: t.ReplicationFactor}
		if len(t.ReplicaAssignment) > 0 {
			spec.Assignments = make(map[int32][]int32, len(t.ReplicaAssignment))
			for _, a := range t.ReplicaAssignment {
				spec.Assignments[a.Partition] = a.Replicas
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
		specs[i] = spec
	}
	errs := h.n.CreateTopics(ctx, specs, body.ValidateOnly)
	img := h.n.Image()
	for i, t := range body.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = t.Topic
		rt.ErrorCode, rt.ErrorMessage = errorCode(errs[i]), errorMessage(errs[i])
		rt.NumPartitions, rt.ReplicationFactor = -1, -1
		if ti, ok := img.Topic(t.Topic); ok && errs[i] == nil {
			rt.TopicID = ti.ID
			rt.NumPartitions = ti.NumPartitions()
			if p, ok := ti.Partitions[0]; ok {
				rt.ReplicationFactor = int16(len(p.Replicas))
			}
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (h *controllerHandler) alterPartition(ctx context.Context, body *kmsg.AlterPartitionRequest) kmsg.Response {
	resp := kmsg.NewPtrAlterPartitionResponse()
	for _, t := range body.Topics {
		rt := kmsg.NewAlterPartitionResponseTopic()
		rt.TopidID = t.TopicID // sic: kmsg's field name
		for _, p := range t.Partitions {
			isr := p.NewISR
			for _, e := range p.NewEpochISR {
				isr = append(isr, e.BrokerID)
			}
			reg, err := h.n.AlterPartition(ctx, metadata.AlterPartitionRequest{BrokerID: body.BrokerID, BrokerEpoch: body.BrokerEpoch,
				TopicID: metadata.Uuid(t.TopicID), Partition: p.Partition, LeaderEpoch: p.LeaderEpoch, NewISR: isr, PartitionEpoch: p.PartitionEpoch})
			rp := kmsg.NewAlterPartitionResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = errorCode(err)
			if err == nil && reg != nil {
				rp.LeaderID, rp.LeaderEpoch, rp.ISR = reg.Leader, reg.LeaderEpoch, reg.ISR
				rp.LeaderRecoveryState, rp.PartitionEpoch = reg.LeaderRecoveryState, reg.PartitionEpoch
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// describeQuorum answers as Kafka's KRaft leader does (KIP-595, KIP-836):
// offsets are exclusive ends (log end offset = one past the last entry,
// high watermark = one past the last committed entry); each voter's log end
// and the times the leader last heard from it and last saw it caught up
// (the leader itself: now); observers are the brokers fetching the log. A
// voter that is not the leader answers NOT_LEADER_OR_FOLLOWER naming the
// leader it knows (-1: none) and its epoch, so a client can go there.
func (h *controllerHandler) describeQuorum(body *kmsg.DescribeQuorumRequest) kmsg.Response {
	n := h.n
	resp := kmsg.NewPtrDescribeQuorumResponse()
	for _, t := range body.Topics {
		rt := kmsg.NewDescribeQuorumResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewDescribeQuorumResponseTopicPartition()
			rp.Partition = p.Partition
			r := n.raftHandle()
			switch {
			case t.Topic != MetadataTopic || p.Partition != 0:
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case r == nil:
				rp.ErrorCode, rp.LeaderID, rp.LeaderEpoch = kerr.NotLeaderForPartition.Code, -1, -1
			case r.State() != raft.Leader:
				rp.ErrorCode, rp.LeaderID, rp.LeaderEpoch = kerr.NotLeaderForPartition.Code, -1, int32(r.CurrentTerm())
				if id, ok := n.Leader(); ok {
					rp.LeaderID = id
				}
			default:
				h.describeLeader(r, &rp)
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (h *controllerHandler) describeLeader(r *raft.Raft, rp *kmsg.DescribeQuorumResponseTopicPartition) {
	n := h.n
	term := r.CurrentTerm()
	now := time.Now()
	rp.LeaderID, rp.LeaderEpoch = n.cfg.NodeID, int32(term)
	rp.HighWatermark = int64(r.CommitIndex()) + 1
	state := func(id int32, pr replicaProgress) kmsg.DescribeQuorumResponseTopicPartitionReplicaState {
		st := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
		st.ReplicaID, st.LogEndOffset = id, pr.logEnd
		st.LastFetchTimestamp, st.LastCaughtUpTimestamp = unixMilli(pr.lastFetch), unixMilli(pr.lastCaughtUp)
		return st
	}
	if f := r.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			id, ok := parseServerID(s.ID)
			if !ok {
				continue
			}
			pr := replicaProgress{logEnd: -1}
			if id == n.cfg.NodeID {
				pr = replicaProgress{logEnd: int64(r.LastIndex()) + 1, lastFetch: now, lastCaughtUp: now}
			} else if v, ok := n.progress.voter(id, term); ok {
				pr = v
			}
			if s.Suffrage == raft.Voter {
				rp.CurrentVoters = append(rp.CurrentVoters, state(id, pr))
			} else {
				rp.Observers = append(rp.Observers, state(id, pr))
			}
		}
	}
	obs := n.progress.observersOf(term, now)
	for _, id := range sortedIDs(obs) {
		rp.Observers = append(rp.Observers, state(id, obs[id]))
	}
}

// unixMilli is t in Unix milliseconds, -1 when unknown (Kafka's default).
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return -1
	}
	return t.UnixMilli()
}

// maxFetchWait bounds a metadata fetch's long poll whatever the broker asks.
const maxFetchWait = 5 * time.Second

func (h *controllerHandler) fetch(ctx context.Context, body *kmsg.FetchRequest) kmsg.Response {
	resp := kmsg.NewPtrFetchResponse()
	wait := time.Duration(body.MaxWaitMillis) * time.Millisecond
	if wait > maxFetchWait {
		wait = maxFetchWait
	}
	for _, t := range body.Topics {
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewFetchResponseTopicPartition()
			rp.Partition = p.Partition
			if t.Topic != MetadataTopic || p.Partition != 0 {
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				rt.Partitions = append(rt.Partitions, rp)
				continue
			}
			maxBytes := p.PartitionMaxBytes
			if maxBytes <= 0 {
				maxBytes = 1 << 20
			}
			batches, hw, err := h.n.fetchEntries(ctx, p.FetchOffset, maxBytes, wait)
			switch {
			case err == errSnapshotNeeded:
				rp.ErrorCode = kerr.OffsetOutOfRange.Code
				rp.SnapshotID.EndOffset, rp.SnapshotID.Epoch = -1, -1
			case err != nil:
				rp.ErrorCode = errorCode(err)
			default:
				rp.HighWatermark, rp.LastStableOffset, rp.RecordBatches = hw, hw, batches
				if body.ReplicaID >= 0 { // a broker following the log (tools fetch as -1)
					h.n.observerFetched(body.ReplicaID, p.FetchOffset, hw)
				}
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (h *controllerHandler) fetchSnapshot(body *kmsg.FetchSnapshotRequest) kmsg.Response {
	resp := kmsg.NewPtrFetchSnapshotResponse()
	for _, t := range body.Topics {
		rt := kmsg.NewFetchSnapshotResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewFetchSnapshotResponseTopicPartition()
			rp.Partition = p.Partition
			if t.Topic != MetadataTopic || p.Partition != 0 {
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				rt.Partitions = append(rt.Partitions, rp)
				continue
			}
			chunk, size, end, epoch, err := h.n.fetchSnapshot(p.SnapshotID.EndOffset, p.Position, body.MaxBytes)
			switch {
			case err == errSnapshotGone:
				rp.ErrorCode = kerr.SnapshotNotFound.Code
			case err != nil:
				rp.ErrorCode = errorCode(err)
			default:
				rp.Bytes, rp.Size, rp.Position = chunk, size, p.Position
				rp.SnapshotID.EndOffset, rp.SnapshotID.Epoch = end, epoch
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

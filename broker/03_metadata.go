package broker

// Metadata (key 3), versions 1-12.
//
// Brokers: the unfenced brokers of the image that have an endpoint named
// like the listener the request arrived on (so a client on listener A never
// learns addresses of listener B). Cluster id from the image, else from
// Config. Controller id: this broker's own id — clients send admin requests
// (CreateTopics, DeleteTopics) to the "controller", and this broker forwards
// them to the real controller through Controller, as KRaft brokers do.
//
// Topics: a null topic list (v1+) means every topic; an empty list means
// none. v10+ may name topics by id. Each partition carries leader, leader
// epoch (v7+), replicas, ISR and offline replicas (v5+: replicas not
// registered or fenced); a partition without a leader has
// LEADER_NOT_AVAILABLE. An unknown topic is created when
// auto.create.topics.enable is on and the request allows it (always below
// v4, allow_auto_topic_creation from v4); the answer then describes the new
// topic if the controller already applied it, else LEADER_NOT_AVAILABLE so
// the client asks again. Authorized operations are not computed (INT32_MIN).

import (
	"context"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

// internalTopics are reported with is_internal = true.
var internalTopics = map[string]bool{"__consumer_offsets": true, "__transaction_state": true}

func (b *Broker) handleMetadata(ctx context.Context, nreq *network.Request, req *kmsg.MetadataRequest) (kmsg.Response, error) {
	img := b.Image()
	resp := req.ResponseKind().(*kmsg.MetadataResponse)

	// Resolve the requested topics: name -> found, with ids resolved.
	type want struct {
		name  *string
		id    metadata.Uuid
		err   error
		topic *metadata.TopicImage
	}
	var wants []want
	if req.Topics == nil {
		for _, t := range img.Topics() {
			// Kafka filters what the principal may not DESCRIBE, silently.
			if b.authorizedQuietly(nreq, resTopic, t.Name, opDescribe) {
				wants = append(wants, want{name: strPtr(t.Name), topic: t})
			}
		}
	} else {
		var create []string
		var createIdx []int
		for _, rt := range req.Topics {
			w := want{name: rt.Topic, id: metadata.Uuid(rt.TopicID)}
			switch {
			case rt.Topic == nil && w.id == metadata.ZeroUuid:
				w.err = fmt.Errorf("%w: metadata topic without name or id", ErrInvalidRequest)
			case rt.Topic == nil:
				if t, ok := img.TopicByID(w.id); ok && !b.authorized(nreq, resTopic, t.Name, opDescribe) {
					w.err = fmt.Errorf("%w: DESCRIBE on topic id %s", ErrTopicAuthorization, w.id)
				} else if ok {
					w.topic, w.name = t, strPtr(t.Name)
				} else {
					w.err = fmt.Errorf("%w: %s", ErrUnknownTopicID, w.id)
				}
			case !b.authorized(nreq, resTopic, *rt.Topic, opDescribe):
				w.err = fmt.Errorf("%w: DESCRIBE on topic %q", ErrTopicAuthorization, *rt.Topic)
				w.id = metadata.ZeroUuid
			default:
				if t, ok := img.Topic(*rt.Topic); ok {
					w.topic = t
				} else if err := metadata.ValidateTopicName(*rt.Topic); err != nil {
					w.err = err
				} else {
					w.err = fmt.Errorf("%w: topic %q", ErrUnknownTopic, *rt.Topic)
					switch {
					case !b.cfg.AutoCreateTopics || (req.Version >= 4 && !req.AllowAutoTopicCreation):
					case !b.mayCreateTopic(nreq, *rt.Topic):
						w.err = fmt.Errorf("%w: CREATE on topic %q", ErrTopicAuthorization, *rt.Topic)
					default:
						create = append(create, *rt.Topic)
						createIdx = append(createIdx, len(wants))
					}
				}
			}
			wants = append(wants, w)
		}
		if len(create) > 0 {
			errs := b.autoCreate(ctx, create)
			img = b.Image()
			for i, idx := range createIdx {
				switch t, ok := img.Topic(create[i]); {
				case errs[i] != nil:
					wants[idx].err = errs[i]
				case ok:
					wants[idx].topic, wants[idx].err = t, nil
				default:
					wants[idx].err = fmt.Errorf("%w: topic %q is being created", ErrLeaderNotAvailable, create[i])
				}
			}
		}
	}

	resp.Brokers = b.metadataBrokers(img, nreq.Listener)
	cid := img.ClusterID()
	if cid == "" {
		cid = b.cfg.ClusterID
	}
	if cid != "" {
		resp.ClusterID = &cid
	}
	resp.ControllerID = b.cfg.NodeID

	for _, w := range wants {
		mt := kmsg.NewMetadataResponseTopic()
		mt.Topic = w.name
		mt.TopicID = w.id
		if w.err != nil {
			mt.ErrorCode = errorCode(w.err)
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		t := w.topic
		mt.TopicID = t.ID
		mt.IsInternal = internalTopics[t.Name]
		mt.Partitions = b.metadataPartitions(img, t)
		resp.Topics = append(resp.Topics, mt)
	}
	return resp, nil
}

// metadataBrokers lists the unfenced brokers with an endpoint on listener.
func (b *Broker) metadataBrokers(img *metadata.Image, listener string) []kmsg.MetadataResponseBroker {
	var out []kmsg.MetadataResponseBroker
	for _, br := range img.Brokers() {
		if br.Fenced {
			continue
		}
		for _, ep := range br.Endpoints {
			if ep.Name != listener {
				continue
			}
			mb := kmsg.NewMetadataResponseBroker()
			mb.NodeID, mb.Host, mb.Port = br.ID, ep.Host, int32(ep.Port)
			if br.Rack != "" {
				mb.Rack = strPtr(br.Rack)
			}
			out = append(out, mb)
			break
		}
	}
	return out
}

func (b *Broker) metadataPartitions(img *metadata.Image, t *metadata.TopicImage) []kmsg.MetadataResponseTopicPartition {
	ids := make([]int32, 0, len(t.Partitions))
	for id := range t.Partitions {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := make([]kmsg.MetadataResponseTopicPartition, 0, len(ids))
	for _, id := range ids {
		reg := t.Partitions[id]
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = id
		mp.Leader = reg.Leader
		mp.LeaderEpoch = reg.LeaderEpoch
		mp.Replicas = append([]int32{}, reg.Replicas...)
		mp.ISR = append([]int32{}, reg.ISR...)
		mp.OfflineReplicas = []int32{}
		for _, r := range reg.Replicas {
			if br, ok := img.Broker(r); !ok || br.Fenced {
				mp.OfflineReplicas = append(mp.OfflineReplicas, r)
			}
		}
		if reg.Leader < 0 {
			mp.ErrorCode = errorCode(ErrLeaderNotAvailable)
		}
		out = append(out, mp)
	}
	return out
}

func strPtr(s string) *string { return &s }

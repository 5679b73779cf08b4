package broker

// DeleteTopics (key 20), versions 1-6.
//
// Up to v5 topics are named; v6 names each by name or by id (an unknown id
// is UNKNOWN_TOPIC_ID; v6 answers carry both). A topic named twice is
// INVALID_REQUEST. The rest are forwarded to the Controller in one call,
// bounded by the request's timeout; its typed errors map through errors.go
// (an unknown topic is UNKNOWN_TOPIC_OR_PARTITION). The partition logs are
// removed when the resulting image is published (Publish), not here.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleDeleteTopics(ctx context.Context, nreq *network.Request, req *kmsg.DeleteTopicsRequest) (kmsg.Response, error) {
	img := b.Image()
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)

	type target struct {
		name *string
		id   metadata.Uuid
		err  error
	}
	var targets []target
	if req.Version < 6 {
		for _, n := range req.TopicNames {
			targets = append(targets, target{name: strPtr(n)})
		}
	} else {
		for _, t := range req.Topics {
			tg := target{name: t.Topic, id: metadata.Uuid(t.TopicID)}
			switch {
			case t.Topic != nil && tg.id != metadata.ZeroUuid:
				tg.err = fmt.Errorf("%w: topic %q is named by name and id", ErrInvalidRequest, *t.Topic)
			case t.Topic != nil:
				if ti, ok := img.Topic(*t.Topic); ok {
					tg.id = ti.ID
				}
			case tg.id == metadata.ZeroUuid:
				tg.err = fmt.Errorf("%w: topic without name or id", ErrInvalidRequest)
			default:
				if ti, ok := img.TopicByID(tg.id); ok {
					tg.name = strPtr(ti.Name)
				} else {
					tg.err = fmt.Errorf("%w: %s", ErrUnknownTopicID, tg.id)
				}
			}
			targets = append(targets, tg)
		}
	}

	count := map[string]int{}
	for _, t := range targets {
		if t.err == nil {
			count[*t.name]++
		}
	}
	var names []string
	var idx []int
	for i := range targets {
		t := &targets[i]
		if t.err != nil {
			continue
		}
		if count[*t.name] > 1 {
			t.err = fmt.Errorf("%w: %q", ErrDuplicateTopic, *t.name)
			continue
		}
		if !b.authorized(nreq, resTopic, *t.name, opDelete) {
			t.err = fmt.Errorf("%w: DELETE on topic %q", ErrTopicAuthorization, *t.name)
			continue
		}
		names = append(names, *t.name)
		idx = append(idx, i)
	}
	if len(names) > 0 {
		cctx, cancel := b.requestContext(ctx, req.TimeoutMillis)
		errs := b.ctrl.DeleteTopics(cctx, names)
		cancel()
		for j, i := range idx {
			if j < len(errs) {
				targets[i].err = errs[j]
			} else {
				targets[i].err = fmt.Errorf("%w: controller gave %d answers for %d topics", ErrInvalidRequest, len(errs), len(names))
			}
			if targets[i].err == nil {
				b.logger.Info("deleted topic", zap.String("topic", names[j]))
			}
		}
	}

	for _, t := range targets {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic, rt.TopicID = t.name, t.id
		if t.err != nil {
			rt.ErrorCode, rt.ErrorMessage = errorCode(t.err), errorMessage(t.err)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

package quorum

// Config writes (IncrementalAlterConfigs 44, AlterConfigs 33): the active
// controller validates each alteration with metadata.AlterConfigs against
// its image and appends the resulting ConfigRecords as one raft entry
// (refused in PRE_MIGRATION, like every controller write). Brokers
// forward the requests to it (Client.AlterConfigs) and wait until their
// own image shows the change.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
)

// AlterConfigs writes the ConfigRecords of the alterations that pass
// metadata.AlterConfigs (none with validateOnly) and returns one error
// per alteration.
func (n *Node) AlterConfigs(ctx context.Context, alts []metadata.ConfigAlteration, validateOnly bool) []error {
	errs, _ := writeEach(ctx, n, "alter configs", func(img *metadata.Image) ([]metadata.Record, []error) {
		recs, errs := metadata.AlterConfigs(img, alts)
		if validateOnly {
			return nil, errs
		}
		return recs, errs
	}, failEach(len(alts)))
	return errs
}

func (h *controllerHandler) incrementalAlterConfigs(ctx context.Context, body *kmsg.IncrementalAlterConfigsRequest) kmsg.Response {
	resp := body.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	alts := make([]metadata.ConfigAlteration, len(body.Resources))
	for i, r := range body.Resources {
		alts[i] = metadata.ConfigAlteration{ResourceType: int8(r.ResourceType), ResourceName: r.ResourceName}
		for _, c := range r.Configs {
			alts[i].Ops = append(alts[i].Ops, metadata.ConfigOp{Op: metadata.ConfigOpType(c.Op), Name: c.Name, Value: c.Value})
		}
	}
	errs := h.n.AlterConfigs(ctx, alts, body.ValidateOnly)
	for i, r := range body.Resources {
		rr := kmsg.NewIncrementalAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		rr.ErrorCode, rr.ErrorMessage = errorCode(errs[i]), errorMessage(errs[i])
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}

func (h *controllerHandler) alterConfigs(ctx context.Context, body *kmsg.AlterConfigsRequest) kmsg.Response {
	resp := body.ResponseKind().(*kmsg.AlterConfigsResponse)
	alts := make([]metadata.ConfigAlteration, len(body.Resources))
	for i, r := range body.Resources {
		alts[i] = metadata.ConfigAlteration{ResourceType: int8(r.ResourceType), ResourceName: r.ResourceName, Replace: true}
		for _, c := range r.Configs {
			alts[i].Ops = append(alts[i].Ops, metadata.ConfigOp{Op: metadata.ConfigOpSet, Name: c.Name, Value: c.Value})
		}
	}
	errs := h.n.AlterConfigs(ctx, alts, body.ValidateOnly)
	for i, r := range body.Resources {
		rr := kmsg.NewAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		rr.ErrorCode, rr.ErrorMessage = errorCode(errs[i]), errorMessage(errs[i])
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}

// AlterConfigs forwards to the active controller — the Replace
// alterations as AlterConfigs v2, the others as IncrementalAlterConfigs
// v1 — and returns once this broker's image shows the result
// (broker.ConfigController).
func (c *Client) AlterConfigs(ctx context.Context, alts []metadata.ConfigAlteration, validateOnly bool) []error {
	errs := make([]error, len(alts))
	var incr, repl []int
	for i, a := range alts {
		if a.Replace {
			repl = append(repl, i)
		} else {
			incr = append(incr, i)
		}
	}
	if len(incr) > 0 {
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		req.Version, req.ValidateOnly = 1, validateOnly
		for _, i := range incr {
			r := kmsg.NewIncrementalAlterConfigsRequestResource()
			r.ResourceType, r.ResourceName = kmsg.ConfigResourceType(alts[i].ResourceType), alts[i].ResourceName
			for _, op := range alts[i].Ops {
				rc := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
				rc.Name, rc.Op, rc.Value = op.Name, kmsg.IncrementalAlterConfigOp(op.Op), op.Value
				r.Configs = append(r.Configs, rc)
			}
			req.Resources = append(req.Resources, r)
		}
		c.forwardConfigs(ctx, req, incr, errs, func(r kmsg.Response) (codes []int16, msgs []*string) {
			for _, rr := range r.(*kmsg.IncrementalAlterConfigsResponse).Resources {
				codes, msgs = append(codes, rr.ErrorCode), append(msgs, rr.ErrorMessage)
			}
			return codes, msgs
		})
	}
	if len(repl) > 0 {
		req := kmsg.NewPtrAlterConfigsRequest()
		req.Version, req.ValidateOnly = 2, validateOnly
		for _, i := range repl {
			r := kmsg.NewAlterConfigsRequestResource()
			r.ResourceType, r.ResourceName = kmsg.ConfigResourceType(alts[i].ResourceType), alts[i].ResourceName
			for _, op := range alts[i].Ops {
				rc := kmsg.NewAlterConfigsRequestResourceConfig()
				rc.Name, rc.Value = op.Name, op.Value
				r.Configs = append(r.Configs, rc)
			}
			req.Resources = append(req.Resources, r)
		}
		c.forwardConfigs(ctx, req, repl, errs, func(r kmsg.Response) (codes []int16, msgs []*string) {
			for _, rr := range r.(*kmsg.AlterConfigsResponse).Resources {
				codes, msgs = append(codes, rr.ErrorCode), append(msgs, rr.ErrorMessage)
			}
			return codes, msgs
		})
	}
	if validateOnly {
		return errs
	}
	if werr := c.waitImage(ctx, func(img *metadata.Image) bool { return metadata.ConfigsAltered(img, alts, errs) }); werr != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = werr
			}
		}
	}
	return errs
}

// forwardConfigs sends one config request and fills errs[idx[j]] with the
// j-th resource's answer (or the call's error).
func (c *Client) forwardConfigs(ctx context.Context, req kmsg.Request, idx []int, errs []error, answers func(kmsg.Response) ([]int16, []*string)) {
	resp, err := c.call(ctx, "admin", req, func(r kmsg.Response) bool {
		codes, _ := answers(r)
		for _, code := range codes {
			if isNotController(code) {
				return true
			}
		}
		return false
	})
	var codes []int16
	var msgs []*string
	if err == nil {
		codes, msgs = answers(resp)
		if len(codes) != len(idx) {
			err = fmt.Errorf("alter configs: %d answers for %d resources: %w", len(codes), len(idx), kerr.UnknownServerError)
		}
	}
	for j, i := range idx {
		if err != nil {
			errs[i] = err
			continue
		}
		errs[i] = codeErrorMessage(codes[j], msgs[j])
	}
}

// AlterConfigs implements broker.ConfigController.
func (s *BrokerSource) AlterConfigs(ctx context.Context, alts []metadata.ConfigAlteration, validateOnly bool) []error {
	return s.client.AlterConfigs(ctx, alts, validateOnly)
}

// AlterConfigs implements broker.ConfigController.
func (s *CombinedSource) AlterConfigs(ctx context.Context, alts []metadata.ConfigAlteration, validateOnly bool) []error {
	return s.client.AlterConfigs(ctx, alts, validateOnly)
}

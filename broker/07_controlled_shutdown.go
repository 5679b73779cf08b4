package broker

// ControlledShutdown (key 7), versions 1-3, ZooKeeper mode only.
//
// A broker about to stop sends this to the controller (the broker holding
// /controller), as Kafka's ZooKeeper-mode brokers do
// (KafkaServer.controlledShutdown -> KafkaController.doControlledShutdown).
// The handler hands it to the controller's ControlledShutdowner: leadership
// moves off the broker, it leaves the ISRs it follows in, and the answer
// lists the partitions it still leads (those with no other usable ISR
// member). Errors: NOT_CONTROLLER when this broker is not the controller,
// STALE_BROKER_EPOCH for an unknown broker or an old epoch (v2+ carry the
// epoch; v1 is checked against whatever epoch is registered). The key is
// neither served nor advertised when the controller does not implement
// ControlledShutdowner (quorum mode: controlled shutdown rides on
// heartbeats, KIP-631).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleControlledShutdown(ctx context.Context, nreq *network.Request, req *kmsg.ControlledShutdownRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ControlledShutdownResponse)
	if !b.authorizedCluster(nreq, opClusterAction) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp, nil
	}
	cs := b.ctrl.(ControlledShutdowner) // Handle refuses key 7 otherwise (servesKey)
	epoch := req.BrokerEpoch
	if req.Version < 2 {
		epoch = -1 // v1 carries no epoch: the registered one
		if reg, ok := b.Image().Broker(req.BrokerID); ok {
			epoch = reg.Epoch
		}
	}
	cctx, cancel := context.WithTimeout(ctx, b.cfg.ControllerTimeout)
	defer cancel()
	remaining, err := cs.ControlledShutdown(cctx, req.BrokerID, epoch)
	if err != nil {
		resp.ErrorCode = errorCode(err)
		b.logger.Info("controlled shutdown request failed", zap.Int32("broker", req.BrokerID), zap.Error(err))
		return resp, nil
	}
	for _, tp := range remaining {
		rp := kmsg.NewControlledShutdownResponsePartitionsRemaining()
		rp.Topic, rp.Partition = tp.Topic, tp.Partition
		resp.PartitionsRemaining = append(resp.PartitionsRemaining, rp)
	}
	return resp, nil
}

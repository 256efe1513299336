#include "model/fast/cell-scoped-spectrum-channel.h"

#include "ns3/angles.h"
#include "ns3/antenna-model.h"
#include "ns3/log.h"
#include "ns3/mobility-model.h"
#include "ns3/net-device.h"
#include "ns3/node.h"
#include "ns3/propagation-delay-model.h"
#include "ns3/propagation-loss-model.h"
#include "ns3/simulator.h"
#include "ns3/spectrum-phy.h"
#include "ns3/spectrum-transmit-filter.h"

#include <algorithm>
#include <cmath>

namespace gaidt
{

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("GaidtCellScopedSpectrumChannel");
NS_OBJECT_ENSURE_REGISTERED(CellScopedSpectrumChannel);

TypeId
CellScopedSpectrumChannel::GetTypeId()
{
    static TypeId tid = TypeId("gaidt::CellScopedSpectrumChannel")
                            .SetParent<MultiModelSpectrumChannel>()
                            .SetGroupName("Gaidt")
                            .AddConstructor<CellScopedSpectrumChannel>();
    return tid;
}

void
CellScopedSpectrumChannel::DoDispose()
{
    m_selector = nullptr;
    m_selectorOwner = nullptr;
    m_rx.clear();
    m_unmanaged.clear();
    m_scope.clear();
    m_ordered.clear();
    MultiModelSpectrumChannel::DoDispose();
}

void
CellScopedSpectrumChannel::SetReceiverSelector(ReceiverSelector* selector, Ptr<Object> owner)
{
    m_selector = selector;
    m_selectorOwner = owner;
    m_unmanagedValid = false;
}

uint64_t
CellScopedSpectrumChannel::GetScopedTransmissions() const
{
    return m_scopedTx;
}

void
CellScopedSpectrumChannel::AddRx(Ptr<SpectrumPhy> phy)
{
    // The parent removes the phy from its model's list and appends it to its (new) model's list.
    MultiModelSpectrumChannel::AddRx(phy);
    RemoveRxMirror(PeekPointer(phy));
    const auto uid = phy->GetRxSpectrumModel()->GetUid();
    Rx rx{m_nextOrder++, uid};
    if (auto dev = phy->GetDevice())
    {
        rx.hasDevice = true;
        rx.nodeId = dev->GetNode()->GetId();
    }
    m_rx[PeekPointer(phy)] = rx;
    ++m_rxPerModel[uid];
    m_unmanagedValid = false;
}

void
CellScopedSpectrumChannel::RemoveRx(Ptr<SpectrumPhy> phy)
{
    MultiModelSpectrumChannel::RemoveRx(phy);
    RemoveRxMirror(PeekPointer(phy));
    m_unmanagedValid = false;
}

void
CellScopedSpectrumChannel::RemoveRxMirror(const SpectrumPhy* phy)
{
    const auto it = m_rx.find(phy);
    if (it == m_rx.end())
    {
        return;
    }
    const auto model = m_rxPerModel.find(it->second.modelUid);
    if (--model->second == 0)
    {
        m_rxPerModel.erase(model);
    }
    m_rx.erase(it);
}

bool
CellScopedSpectrumChannel::Scope(Ptr<const SpectrumSignalParameters> params)
{
    if (!m_selector || m_spectrumPropagationLoss || m_phasedArraySpectrumPropagationLoss)
    {
        return false;
    }
    // One receiver model, the transmission's: the parent would convert nothing.
    if (m_rxPerModel.size() != 1 ||
        m_rxPerModel.begin()->first != params->psd->GetSpectrumModelUid())
    {
        return false;
    }
    m_scope.clear();
    if (!m_selector->SelectReceivers(params, m_scope))
    {
        return false;
    }
    if (!m_unmanagedValid)
    {
        m_unmanaged.clear();
        for (const auto& [phy, rx] : m_rx)
        {
            if (!m_selector->Manages(phy))
            {
                m_unmanaged.push_back(const_cast<SpectrumPhy*>(phy));
            }
        }
        m_unmanagedValid = true;
    }
    m_scope.insert(m_scope.end(), m_unmanaged.begin(), m_unmanaged.end());
    // Receivers the selector knows but the channel no longer has are dropped; the rest go in
    // the parent's order, so that the StartRx events are scheduled in the same sequence.
    m_ordered.clear();
    for (SpectrumPhy* phy : m_scope)
    {
        const auto it = m_rx.find(phy);
        if (it != m_rx.end())
        {
            m_ordered.push_back(Scoped{phy, &it->second});
        }
    }
    std::sort(m_ordered.begin(), m_ordered.end(), [](const Scoped& a, const Scoped& b) {
        return a.rx->order < b.rx->order;
    });
    return true;
}

void
CellScopedSpectrumChannel::StartTx(Ptr<SpectrumSignalParameters> txParams)
{
    NS_ASSERT(txParams->txPhy);
    NS_ASSERT(txParams->psd);
    if (!Scope(txParams))
    {
        MultiModelSpectrumChannel::StartTx(txParams);
        return;
    }
    ++m_scopedTx;
    // From here on: MultiModelSpectrumChannel::StartTx (ns-3 3.44) for the receivers in scope.
    auto txParamsTrace = txParams->Copy();
    m_txSigParamsTrace(txParamsTrace);
    auto txMobility = txParams->txPhy->GetMobility();
    // the parent's same-node check, with the receivers' node ids read at AddRx
    auto txNetDevice = txParams->txPhy->GetDevice();
    const bool txHasNode = static_cast<bool>(txNetDevice);
    const uint32_t txNodeId = txHasNode ? txNetDevice->GetNode()->GetId() : 0;
    for (const auto& [phy, rx] : m_ordered)
    {
        bool rxHasNode = rx->hasDevice;
        uint32_t rxNodeId = rx->nodeId;
        if (!rxHasNode) // no device at AddRx: ask now, as the parent does
        {
            if (auto dev = phy->GetDevice())
            {
                rxHasNode = true;
                rxNodeId = dev->GetNode()->GetId();
            }
        }
        if (phy == PeekPointer(txParams->txPhy) || (rxHasNode && txHasNode && rxNodeId == txNodeId))
        {
            continue;
        }
        Ptr<SpectrumPhy> receiver(phy);
        auto txAntennaGain{0.0};
        if (m_filter && m_filter->Filter(txParams, receiver))
        {
            continue;
        }
        auto rxParams = txParams->Copy();
        rxParams->psd = Copy<SpectrumValue>(txParams->psd);
        Time delay{0};
        auto receiverMobility = receiver->GetMobility();
        if (txMobility && receiverMobility)
        {
            if (rxParams->txAntenna)
            {
                Angles txAngles(receiverMobility->GetPosition(), txMobility->GetPosition());
                txAntennaGain = rxParams->txAntenna->GetGainDb(txAngles);
            }
            if (m_propagationDelay)
            {
                delay = m_propagationDelay->GetDelay(txMobility, receiverMobility);
            }
        }
        if (rxHasNode)
        {
            Simulator::ScheduleWithContext(rxNodeId,
                                           delay,
                                           &CellScopedSpectrumChannel::StartRxScoped,
                                           this,
                                           txAntennaGain,
                                           rxParams,
                                           receiver);
        }
        else
        {
            Simulator::Schedule(delay,
                                &CellScopedSpectrumChannel::StartRxScoped,
                                this,
                                txAntennaGain,
                                rxParams,
                                receiver);
        }
    }
}

void
CellScopedSpectrumChannel::StartRxScoped(double txAntennaGain,
                                         Ptr<SpectrumSignalParameters> params,
                                         Ptr<SpectrumPhy> receiver)
{
    // MultiModelSpectrumChannel::StartRx (ns-3 3.44) after its spectrum conversion, which is
    // never needed here; the arithmetic is the parent's, in the parent's order.
    NS_ABORT_MSG_IF(params->psd->GetSpectrumModelUid() != receiver->GetRxSpectrumModel()->GetUid(),
                    "a receiver changed spectrum model without AddRx");
    auto txMobility = params->txPhy->GetMobility();
    auto rxMobility = receiver->GetMobility();
    if (txMobility && rxMobility)
    {
        auto pathLossDb{-txAntennaGain};
        auto rxAntennaGain{0.0};
        auto propagationGainDb{0.0};
        if (auto rxAntenna = DynamicCast<AntennaModel>(receiver->GetAntenna()))
        {
            Angles rxAngles(txMobility->GetPosition(), rxMobility->GetPosition());
            rxAntennaGain = rxAntenna->GetGainDb(rxAngles);
            pathLossDb -= rxAntennaGain;
        }
        if (m_propagationLoss && (txMobility->GetPosition() != rxMobility->GetPosition()))
        {
            propagationGainDb = m_propagationLoss->CalcRxPower(0, txMobility, rxMobility);
            pathLossDb -= propagationGainDb;
        }
        m_gainTrace(txMobility,
                    rxMobility,
                    txAntennaGain,
                    rxAntennaGain,
                    propagationGainDb,
                    pathLossDb);
        m_pathLossTrace(params->txPhy, receiver, pathLossDb);
        if (pathLossDb > m_maxLossDb)
        {
            return; // beyond range
        }
        const auto pathLossLinear = std::pow(10.0, (-pathLossDb) / 10.0);
        *(params->psd) *= pathLossLinear;
    }
    receiver->StartRx(params);
}

} // namespace gaidt

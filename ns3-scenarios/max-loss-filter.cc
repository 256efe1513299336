#include "max-loss-filter.h"

#include "ns3/angles.h"
#include "ns3/antenna-model.h"
#include "ns3/isotropic-antenna-model.h"
#include "ns3/mobility-model.h"
#include "ns3/spectrum-phy.h"
#include "ns3/spectrum-signal-parameters.h"

namespace gaidt
{

using namespace ns3;

namespace
{

/** Antenna gain towards `to` from `from`; an isotropic antenna needs no angles (atan2). */
double
GainDb(Ptr<AntennaModel> antenna, const Vector& from, const Vector& to)
{
    if (DynamicCast<IsotropicAntennaModel>(antenna))
    {
        return antenna->GetGainDb(Angles(0.0, 0.0));
    }
    return antenna->GetGainDb(Angles(to, from));
}

} // namespace

TypeId
MaxLossFilter::GetTypeId()
{
    static TypeId tid = TypeId("gaidt::MaxLossFilter").SetParent<SpectrumTransmitFilter>().SetGroupName("Gaidt");
    return tid;
}

MaxLossFilter::MaxLossFilter(Ptr<PropagationLossModel> loss, double maxLossDb)
    : m_loss(loss),
      m_maxLossDb(maxLossDb)
{
}

bool
MaxLossFilter::DoFilter(Ptr<const SpectrumSignalParameters> params, Ptr<const SpectrumPhy> receiverPhy)
{
    if (!m_loss || !params->txPhy)
    {
        return false;
    }
    Ptr<MobilityModel> tx = params->txPhy->GetMobility();
    Ptr<MobilityModel> rx = receiverPhy->GetMobility();
    if (!tx || !rx)
    {
        return false;
    }
    // Same arithmetic as MultiModelSpectrumChannel::StartTx/StartRx (ns-3 3.44).
    double pathLossDb = 0;
    if (params->txAntenna)
    {
        pathLossDb -= GainDb(params->txAntenna, tx->GetPosition(), rx->GetPosition());
    }
    if (auto rxAntenna = DynamicCast<AntennaModel>(ConstCast<SpectrumPhy>(receiverPhy)->GetAntenna()))
    {
        pathLossDb -= GainDb(rxAntenna, rx->GetPosition(), tx->GetPosition());
    }
    if (tx->GetPosition() != rx->GetPosition())
    {
        pathLossDb -= m_loss->CalcRxPower(0, tx, rx);
    }
    const bool drop = pathLossDb > m_maxLossDb;
    m_filtered += drop;
    return drop;
}

int64_t
MaxLossFilter::DoAssignStreams(int64_t)
{
    return 0;
}

} // namespace gaidt

#include "model/approx/max-loss-filter.h"

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
GainDb(Ptr<Object> antenna, const Vector& from, const Vector& to)
{
    auto model = DynamicCast<AntennaModel>(antenna);
    if (!model)
    {
        return 0.0;
    }
    if (DynamicCast<IsotropicAntennaModel>(model))
    {
        return model->GetGainDb(Angles(0.0, 0.0));
    }
    return model->GetGainDb(Angles(to, from));
}

} // namespace

double
ChannelLossDb(Ptr<MobilityModel> tx,
              Ptr<MobilityModel> rx,
              Ptr<Object> txAntenna,
              Ptr<Object> rxAntenna,
              Ptr<PropagationLossModel> loss)
{
    double lossDb = -GainDb(txAntenna, tx->GetPosition(), rx->GetPosition());
    lossDb -= GainDb(rxAntenna, rx->GetPosition(), tx->GetPosition());
    if (loss && tx->GetPosition() != rx->GetPosition())
    {
        lossDb -= loss->CalcRxPower(0, tx, rx);
    }
    return lossDb;
}

TypeId
MaxLossFilter::GetTypeId()
{
    static TypeId tid =
        TypeId("gaidt::MaxLossFilter").SetParent<SpectrumTransmitFilter>().SetGroupName("Gaidt");
    return tid;
}

MaxLossFilter::MaxLossFilter(Ptr<PropagationLossModel> loss, double maxLossDb)
    : m_loss(loss),
      m_maxLossDb(maxLossDb)
{
}

bool
MaxLossFilter::DoFilter(Ptr<const SpectrumSignalParameters> params,
                        Ptr<const SpectrumPhy> receiverPhy)
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
    const double pathLossDb = ChannelLossDb(tx,
                                            rx,
                                            params->txAntenna,
                                            ConstCast<SpectrumPhy>(receiverPhy)->GetAntenna(),
                                            m_loss);
    return pathLossDb > m_maxLossDb;
}

int64_t
MaxLossFilter::DoAssignStreams(int64_t)
{
    return 0;
}

} // namespace gaidt

#include "model/fast/ul-ctrl-scope.h"

#include "ns3/component-carrier-enb.h"
#include "ns3/lte-enb-net-device.h"
#include "ns3/lte-enb-phy.h"
#include "ns3/lte-spectrum-phy.h"
#include "ns3/lte-spectrum-signal-parameters.h"
#include "ns3/spectrum-channel.h"

#include <algorithm>

namespace gaidt
{

using namespace ns3;

TypeId
UlCtrlScope::GetTypeId()
{
    static TypeId tid = TypeId("gaidt::UlCtrlScope").SetParent<Object>().SetGroupName("Gaidt");
    return tid;
}

UlCtrlScope::UlCtrlScope(Ptr<SpectrumChannel> channel, const NetDeviceContainer& enbDevs)
    : m_enabled(!channel->GetPropagationDelayModel())
{
    for (uint32_t i = 0; i < enbDevs.GetN(); ++i)
    {
        auto dev = DynamicCast<LteEnbNetDevice>(enbDevs.Get(i));
        for (const auto& [ccId, cc] : dev->GetCcMap())
        {
            auto ccEnb = DynamicCast<ComponentCarrierEnb>(cc);
            SpectrumPhy* phy = PeekPointer(ccEnb->GetPhy()->GetUlSpectrumPhy());
            m_enbPhys.insert(phy);
            m_phyByCell[ccEnb->GetCellId()] = phy;
        }
    }
}

bool
UlCtrlScope::Manages(const SpectrumPhy* receiver) const
{
    return m_enbPhys.contains(receiver);
}

bool
UlCtrlScope::SelectReceivers(Ptr<const SpectrumSignalParameters> params,
                             std::vector<SpectrumPhy*>& out)
{
    if (!m_enabled)
    {
        return false;
    }
    const auto* frame =
        dynamic_cast<const LteSpectrumSignalParametersDataFrame*>(PeekPointer(params));
    if (!frame || frame->packetBurst ||
        std::any_of(params->psd->ConstValuesBegin(), params->psd->ConstValuesEnd(), [](double v) {
            return v != 0.0;
        }))
    {
        return false; // PUSCH, SRS, or a control frame with power: every gateway, as in ns-3
    }
    if (const auto it = m_phyByCell.find(frame->cellId); it != m_phyByCell.end())
    {
        out.push_back(it->second);
    }
    return true;
}

} // namespace gaidt

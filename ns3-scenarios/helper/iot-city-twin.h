// iot-city-twin.h: what the IoT city publishes to its twin, and which of its
// parameters twin commands may change. The column list is the sensor and
// gateway twin vocabulary documented in gaidt_bridge/PROTOCOL.md.
#ifndef GAIDT_IOT_CITY_TWIN_H
#define GAIDT_IOT_CITY_TWIN_H

#include "gaidt-bridge/twin-bridge.h"
#include "helper/scenario-config.h"
#include "model/iot-stats.h"

#include "ns3/net-device-container.h"

#include <memory>

namespace gaidt
{

void InstallIotCityTwin(TwinBridge& bridge,
                        const ScenarioConfig& cfg,
                        std::shared_ptr<IotStats> stats,
                        ns3::NetDeviceContainer enbDevs);

} // namespace gaidt

#endif

// AfPacketInline end to end in network namespaces: client -- [fw: sgfw loop] -- server.
// Real ping (IPv4, IPv6 with neighbour discovery), TCP with nc compared byte for byte with
// offloads on and off, a drop-all loop, VLAN tags, and throughput against the kernel bridge.
#ifndef DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS  // the core builds with -fno-exceptions
#endif
#include <doctest/doctest.h>

#include <tuple>

#include "afpacket_netns.h"

using namespace sgfw::capture;
using namespace sgfw::capture::afptest;

namespace {

AfPacketConfig fw_config(AfPacketConfig::VnetHdr vnet = AfPacketConfig::Auto) {
  AfPacketConfig c;
  c.outside = "out";
  c.inside = "in";
  c.ring_frames = 1024;
  c.vnet_hdr = vnet;
  return c;
}

int measure_seconds() {
  const char* e = std::getenv("SGFW_AFP_MEASURE_SECONDS");  // 3-5 for a report; 1 keeps CI short
  const int s = e ? std::atoi(e) : 1;
  return s < 1 ? 1 : s > 5 ? 5 : s;
}

#define REQUIRE_NETNS()                                  \
  do {                                                   \
    const std::string why = netns_unavailable();         \
    if (!why.empty()) {                                  \
      MESSAGE("skipped: " << why);                       \
      return;                                            \
    }                                                    \
  } while (0)

}  // namespace

TEST_CASE("afpacket inline: open() names the interface, the errno and the fix") {
  AfPacketInline src;
  AfPacketConfig c;
  c.outside = "sgfw-none0";
  c.inside = "sgfw-none0";
  CHECK_FALSE(src.open(c));
  CHECK(src.error().find("two different interfaces") != std::string::npos);

  c.inside = "sgfw-none1";
  c.fanout_group = 65535;
  CHECK_FALSE(src.open(c));
  CHECK(src.error().find("1..65534") != std::string::npos);

  c.fanout_group = 0;
  CHECK_FALSE(src.open(c));
  CHECK_FALSE(src.is_open());
  CHECK(src.error().find("outside interface 'sgfw-none0'") != std::string::npos);
  if (geteuid() == 0) {
    CHECK(src.error().find("no such interface") != std::string::npos);
    CHECK(src.error().find("ip link show") != std::string::npos);
  } else {
    CHECK(src.error().find("CAP_NET_RAW") != std::string::npos);
  }
  Frame f[4];
  CHECK(src.receive(f, 4, 0) == -1);
}

TEST_CASE("afpacket inline: accept-all forwards ping (IPv4, IPv6) and intact TCP, offloads on and off") {
  REQUIRE_NETNS();
  Topology t(1);
  REQUIRE_MESSAGE(t.ok, "topology step failed: " << t.failed_step);

  // Nothing passes the fw ns on its own: no bridge, no forwarding, no addresses.
  CHECK(ping(t.c, "198.18.10.2", 1, 300).received == 0);

  {
    InlineLoop loop(t.f, fw_config(), true);
    REQUIRE_MESSAGE(loop.running(), loop.error());
    CHECK(loop.vnet());
    const PingResult p4 = ping(t.c, "198.18.10.2", 5, 1000);
    const PingResult p6 = ping(t.c, "2001:db8:10::2", 5, 1000);
    CHECK(p4.received == 5);
    CHECK(p6.received == 5);
    const Transfer tr = nc_transfer(t, "198.18.10.2", 5101, 8);
    CHECK(tr.intact);
    const Transfer tr6 = nc_transfer(t, "2001:db8:10::2", 5102, 4);
    CHECK(tr6.intact);
    const LoopStats& st = loop.stop();
    CHECK(loop.error().empty());
    MESSAGE("offloads on: ping v4 avg " << p4.avg_ms << " ms, v6 avg " << p6.avg_ms << " ms; nc 8 MB "
                                        << tr.gbit << " Gbit/s; largest frame " << st.max_caplen << " bytes");
    // GSO super-frames crossed with their virtio-net header, and none failed to go out.
    CHECK(st.max_caplen > 1514);
    for (int p = 0; p < 2; ++p) {
      CHECK(st.src.port[p].forwarded > 0);
      CHECK(st.src.port[p].tx_errors == 0);
      CHECK(st.src.port[p].dropped == 0);
      CHECK(st.src.port[p].received == st.src.port[p].forwarded);
    }
  }

  t.offloads(false);
  for (auto vnet : {AfPacketConfig::Auto, AfPacketConfig::Off}) {
    CAPTURE(static_cast<int>(vnet));
    InlineLoop loop(t.f, fw_config(vnet), true);
    REQUIRE_MESSAGE(loop.running(), loop.error());
    CHECK(ping(t.c, "198.18.10.2", 2, 1000).received == 2);
    const Transfer tr = nc_transfer(t, "198.18.10.2", vnet == AfPacketConfig::Off ? 5104 : 5103, 8);
    CHECK(tr.intact);
    const LoopStats& st = loop.stop();
    MESSAGE("offloads off, vnet " << (vnet == AfPacketConfig::Off ? "off" : "auto") << ": nc 8 MB " << tr.gbit
                                  << " Gbit/s; largest frame " << st.max_caplen);
    CHECK(st.max_caplen <= 1514);
    CHECK(st.src.port[0].tx_errors + st.src.port[1].tx_errors == 0);
    CHECK(st.extra[0].csum_not_ready + st.extra[1].csum_not_ready == 0);
  }
}

TEST_CASE("afpacket inline: a drop-all loop forwards nothing") {
  REQUIRE_NETNS();
  Topology t(2);
  REQUIRE_MESSAGE(t.ok, "topology step failed: " << t.failed_step);
  InlineLoop loop(t.f, fw_config(), false);
  REQUIRE_MESSAGE(loop.running(), loop.error());
  CHECK(ping(t.c, "198.18.10.2", 3, 300).received == 0);
  CHECK(ping(t.c, "2001:db8:10::2", 3, 300).received == 0);
  const LoopStats& st = loop.stop();
  CHECK(st.frames > 0);
  CHECK(st.src.port[0].dropped > 0);
  CHECK(st.src.port[0].forwarded + st.src.port[1].forwarded == 0);
  CHECK(st.src.port[0].received == st.src.port[0].dropped);
}

TEST_CASE("afpacket inline: 802.1Q tags are put back, judged and forwarded as on the wire") {
  REQUIRE_NETNS();
  Topology t(3);
  REQUIRE_MESSAGE(t.ok, "topology step failed: " << t.failed_step);
  for (const auto& [ns, a4, a6] : {std::tuple{t.c, "198.18.11.1/24", "2001:db8:11::1/64"},
                                   std::tuple{t.s, "198.18.11.2/24", "2001:db8:11::2/64"}}) {
    REQUIRE(sh("ip -n " + ns + " link add link eth0 name eth0.100 type vlan id 100 && ip -n " + ns + " addr add " +
               a4 + " dev eth0.100 && ip -n " + ns + " addr add " + a6 + " dev eth0.100 nodad && ip -n " + ns +
               " link set eth0.100 up") == 0);
  }
  InlineLoop loop(t.f, fw_config(), true);
  REQUIRE_MESSAGE(loop.running(), loop.error());
  CHECK(ping(t.c, "198.18.11.2", 3, 1000).received == 3);
  CHECK(ping(t.c, "2001:db8:11::2", 3, 1000).received == 3);
  const Transfer tr = nc_transfer(t, "198.18.11.2", 5105, 4);  // GSO frames with a tag, offloads on
  CHECK(tr.intact);
  const LoopStats& st = loop.stop();
  CHECK(st.vlan_on_wire > 0);
  CHECK(st.extra[0].vlan_tagged + st.extra[1].vlan_tagged == st.vlan_on_wire);
  CHECK(st.src.port[0].tx_errors + st.src.port[1].tx_errors == 0);
  MESSAGE("VLAN 100: " << st.vlan_on_wire << " tagged frames, nc 4 MB " << tr.gbit << " Gbit/s");
}

TEST_CASE("afpacket inline: TCP throughput and round trip against the kernel bridge") {
  REQUIRE_NETNS();
  Topology t(4);
  REQUIRE_MESSAGE(t.ok, "topology step failed: " << t.failed_step);
  const int secs = measure_seconds();
  for (bool on : {true, false}) {
    t.offloads(on);
    double sgfw = -1, kernel = -1;
    PingResult ps, pk;
    {
      InlineLoop loop(t.f, fw_config(), true);
      REQUIRE_MESSAGE(loop.running(), loop.error());
      ping(t.c, "198.18.10.2", 1, 1000);  // ARP first
      ps = ping(t.c, "198.18.10.2", 20, 1000, 10);
      sgfw = iperf_gbit(t, "198.18.10.2", on ? 5201 : 5202, secs);
      const LoopStats& st = loop.stop();
      MESSAGE("kernel ring drops " << st.src.port[0].kernel_drops << "/" << st.src.port[1].kernel_drops
                                   << ", tx errors " << st.src.port[0].tx_errors << "/" << st.src.port[1].tx_errors);
    }
    REQUIRE(t.kernel_bridge(true));
    ping(t.c, "198.18.10.2", 1, 1000);
    pk = ping(t.c, "198.18.10.2", 20, 1000, 10);
    kernel = iperf_gbit(t, "198.18.10.2", on ? 5203 : 5204, secs);
    REQUIRE(t.kernel_bridge(false));
    MESSAGE("offloads " << (on ? "on " : "off") << ": TCP " << secs << " s: sgfw accept-all " << sgfw
                        << " Gbit/s, kernel bridge " << kernel << " Gbit/s, ratio " << (kernel > 0 ? sgfw / kernel : 0)
                        << "; ping avg/min sgfw " << ps.avg_ms << "/" << ps.min_ms << " ms, kernel " << pk.avg_ms
                        << "/" << pk.min_ms << " ms");
    CHECK(sgfw > 0);
    CHECK(kernel > 0);
    CHECK(ps.received == 20);
    CHECK(pk.received == 20);
  }
}

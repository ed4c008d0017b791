// pcap/pcapng LINKTYPE_* values (tcpdump.org/linktypes.html) and their names, for messages such as
// "unsupported link type 147 (LINKTYPE_USER0)". Plain uint32_t on purpose: the frame parser
// (wire/parse.h) owns the LinkType enum of the types it decodes; these are the file-format values.
// Note: LINKTYPE_* is what files hold; libpcap's DLT_* differ for a few (LINKTYPE_RAW 101 is DLT_RAW
// 12 or 14 depending on the OS), which is why we never use DLT_* values here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>

namespace sgfw::capture {

inline constexpr uint32_t kLinkTypeNull = 0;           // BSD loopback, host-order AF_ value
inline constexpr uint32_t kLinkTypeEthernet = 1;
inline constexpr uint32_t kLinkTypeRaw = 101;          // raw IPv4 or IPv6, version nibble decides
inline constexpr uint32_t kLinkTypeLoop = 108;         // OpenBSD loopback, network-order AF_ value
inline constexpr uint32_t kLinkTypeLinuxSll = 113;     // Linux cooked capture v1
inline constexpr uint32_t kLinkTypeUser0 = 147;
inline constexpr uint32_t kLinkTypeIpv4 = 228;
inline constexpr uint32_t kLinkTypeIpv6 = 229;
inline constexpr uint32_t kLinkTypeLinuxSll2 = 276;    // Linux cooked capture v2

// The link-type field of a classic pcap header carries FCS information in its top bits
// (bit 26: FCS length present, bits 28-31: FCS length in 16-bit words); the type is the low 16.
inline constexpr uint32_t kLinkTypeMask = 0xffff;

struct LinkTypeName {
  uint32_t value;
  const char* name;
};

// Sorted by value. 104..289 follow libpcap's pcap/dlt.h (where DLT and LINKTYPE values agree).
inline constexpr LinkTypeName kLinkTypeNames[] = {
    {0, "LINKTYPE_NULL"},
    {1, "LINKTYPE_ETHERNET"},
    {2, "LINKTYPE_EXP_ETHERNET"},
    {3, "LINKTYPE_AX25"},
    {4, "LINKTYPE_PRONET"},
    {5, "LINKTYPE_CHAOS"},
    {6, "LINKTYPE_IEEE802_5"},
    {7, "LINKTYPE_ARCNET_BSD"},
    {8, "LINKTYPE_SLIP"},
    {9, "LINKTYPE_PPP"},
    {10, "LINKTYPE_FDDI"},
    {50, "LINKTYPE_PPP_HDLC"},
    {51, "LINKTYPE_PPP_ETHER"},
    {99, "LINKTYPE_SYMANTEC_FIREWALL"},
    {100, "LINKTYPE_ATM_RFC1483"},
    {101, "LINKTYPE_RAW"},
    {102, "LINKTYPE_SLIP_BSDOS"},
    {103, "LINKTYPE_PPP_BSDOS"},
    {104, "LINKTYPE_C_HDLC"},
    {105, "LINKTYPE_IEEE802_11"},
    {107, "LINKTYPE_FRELAY"},
    {108, "LINKTYPE_LOOP"},
    {109, "LINKTYPE_ENC"},
    {112, "LINKTYPE_NETBSD_HDLC"},
    {113, "LINKTYPE_LINUX_SLL"},
    {114, "LINKTYPE_LTALK"},
    {115, "LINKTYPE_ECONET"},
    {116, "LINKTYPE_IPFILTER"},
    {117, "LINKTYPE_PFLOG"},
    {118, "LINKTYPE_CISCO_IOS"},
    {119, "LINKTYPE_IEEE802_11_PRISM"},
    {120, "LINKTYPE_IEEE802_11_AIRONET"},
    {121, "LINKTYPE_HHDLC"},
    {122, "LINKTYPE_IP_OVER_FC"},
    {123, "LINKTYPE_SUNATM"},
    {124, "LINKTYPE_RIO"},
    {125, "LINKTYPE_PCI_EXP"},
    {126, "LINKTYPE_AURORA"},
    {127, "LINKTYPE_IEEE802_11_RADIOTAP"},
    {128, "LINKTYPE_TZSP"},
    {129, "LINKTYPE_ARCNET_LINUX"},
    {130, "LINKTYPE_JUNIPER_MLPPP"},
    {131, "LINKTYPE_JUNIPER_MLFR"},
    {132, "LINKTYPE_JUNIPER_ES"},
    {133, "LINKTYPE_JUNIPER_GGSN"},
    {134, "LINKTYPE_JUNIPER_MFR"},
    {135, "LINKTYPE_JUNIPER_ATM2"},
    {136, "LINKTYPE_JUNIPER_SERVICES"},
    {137, "LINKTYPE_JUNIPER_ATM1"},
    {138, "LINKTYPE_APPLE_IP_OVER_IEEE1394"},
    {139, "LINKTYPE_MTP2_WITH_PHDR"},
    {140, "LINKTYPE_MTP2"},
    {141, "LINKTYPE_MTP3"},
    {142, "LINKTYPE_SCCP"},
    {143, "LINKTYPE_DOCSIS"},
    {144, "LINKTYPE_LINUX_IRDA"},
    {145, "LINKTYPE_IBM_SP"},
    {146, "LINKTYPE_IBM_SN"},
    {147, "LINKTYPE_USER0"},
    {148, "LINKTYPE_USER1"},
    {149, "LINKTYPE_USER2"},
    {150, "LINKTYPE_USER3"},
    {151, "LINKTYPE_USER4"},
    {152, "LINKTYPE_USER5"},
    {153, "LINKTYPE_USER6"},
    {154, "LINKTYPE_USER7"},
    {155, "LINKTYPE_USER8"},
    {156, "LINKTYPE_USER9"},
    {157, "LINKTYPE_USER10"},
    {158, "LINKTYPE_USER11"},
    {159, "LINKTYPE_USER12"},
    {160, "LINKTYPE_USER13"},
    {161, "LINKTYPE_USER14"},
    {162, "LINKTYPE_USER15"},
    {163, "LINKTYPE_IEEE802_11_AVS"},
    {164, "LINKTYPE_JUNIPER_MONITOR"},
    {165, "LINKTYPE_BACNET_MS_TP"},
    {166, "LINKTYPE_PPP_PPPD"},
    {167, "LINKTYPE_JUNIPER_PPPOE"},
    {168, "LINKTYPE_JUNIPER_PPPOE_ATM"},
    {169, "LINKTYPE_GPRS_LLC"},
    {170, "LINKTYPE_GPF_T"},
    {171, "LINKTYPE_GPF_F"},
    {172, "LINKTYPE_GCOM_T1E1"},
    {173, "LINKTYPE_GCOM_SERIAL"},
    {174, "LINKTYPE_JUNIPER_PIC_PEER"},
    {175, "LINKTYPE_ERF_ETH"},
    {176, "LINKTYPE_ERF_POS"},
    {177, "LINKTYPE_LINUX_LAPD"},
    {178, "LINKTYPE_JUNIPER_ETHER"},
    {179, "LINKTYPE_JUNIPER_PPP"},
    {180, "LINKTYPE_JUNIPER_FRELAY"},
    {181, "LINKTYPE_JUNIPER_CHDLC"},
    {182, "LINKTYPE_MFR"},
    {183, "LINKTYPE_JUNIPER_VP"},
    {184, "LINKTYPE_A429"},
    {185, "LINKTYPE_A653_ICM"},
    {186, "LINKTYPE_USB_FREEBSD"},
    {187, "LINKTYPE_BLUETOOTH_HCI_H4"},
    {188, "LINKTYPE_IEEE802_16_MAC_CPS"},
    {189, "LINKTYPE_USB_LINUX"},
    {190, "LINKTYPE_CAN20B"},
    {191, "LINKTYPE_IEEE802_15_4_LINUX"},
    {192, "LINKTYPE_PPI"},
    {193, "LINKTYPE_IEEE802_16_MAC_CPS_RADIO"},
    {194, "LINKTYPE_JUNIPER_ISM"},
    {195, "LINKTYPE_IEEE802_15_4_WITHFCS"},
    {196, "LINKTYPE_SITA"},
    {197, "LINKTYPE_ERF"},
    {198, "LINKTYPE_RAIF1"},
    {199, "LINKTYPE_IPMB_KONTRON"},
    {200, "LINKTYPE_JUNIPER_ST"},
    {201, "LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR"},
    {202, "LINKTYPE_AX25_KISS"},
    {203, "LINKTYPE_LAPD"},
    {204, "LINKTYPE_PPP_WITH_DIR"},
    {205, "LINKTYPE_C_HDLC_WITH_DIR"},
    {206, "LINKTYPE_FRELAY_WITH_DIR"},
    {207, "LINKTYPE_LAPB_WITH_DIR"},
    {209, "LINKTYPE_IPMB_LINUX"},
    {210, "LINKTYPE_FLEXRAY"},
    {211, "LINKTYPE_MOST"},
    {212, "LINKTYPE_LIN"},
    {213, "LINKTYPE_X2E_SERIAL"},
    {214, "LINKTYPE_X2E_XORAYA"},
    {215, "LINKTYPE_IEEE802_15_4_NONASK_PHY"},
    {216, "LINKTYPE_LINUX_EVDEV"},
    {217, "LINKTYPE_GSMTAP_UM"},
    {218, "LINKTYPE_GSMTAP_ABIS"},
    {219, "LINKTYPE_MPLS"},
    {220, "LINKTYPE_USB_LINUX_MMAPPED"},
    {221, "LINKTYPE_DECT"},
    {222, "LINKTYPE_AOS"},
    {223, "LINKTYPE_WIHART"},
    {224, "LINKTYPE_FC_2"},
    {225, "LINKTYPE_FC_2_WITH_FRAME_DELIMS"},
    {226, "LINKTYPE_IPNET"},
    {227, "LINKTYPE_CAN_SOCKETCAN"},
    {228, "LINKTYPE_IPV4"},
    {229, "LINKTYPE_IPV6"},
    {230, "LINKTYPE_IEEE802_15_4_NOFCS"},
    {231, "LINKTYPE_DBUS"},
    {232, "LINKTYPE_JUNIPER_VS"},
    {233, "LINKTYPE_JUNIPER_SRX_E2E"},
    {234, "LINKTYPE_JUNIPER_FIBRECHANNEL"},
    {235, "LINKTYPE_DVB_CI"},
    {236, "LINKTYPE_MUX27010"},
    {237, "LINKTYPE_STANAG_5066_D_PDU"},
    {238, "LINKTYPE_JUNIPER_ATM_CEMIC"},
    {239, "LINKTYPE_NFLOG"},
    {240, "LINKTYPE_NETANALYZER"},
    {241, "LINKTYPE_NETANALYZER_TRANSPARENT"},
    {242, "LINKTYPE_IPOIB"},
    {243, "LINKTYPE_MPEG_2_TS"},
    {244, "LINKTYPE_NG40"},
    {245, "LINKTYPE_NFC_LLCP"},
    {246, "LINKTYPE_PFSYNC"},
    {247, "LINKTYPE_INFINIBAND"},
    {248, "LINKTYPE_SCTP"},
    {249, "LINKTYPE_USBPCAP"},
    {250, "LINKTYPE_RTAC_SERIAL"},
    {251, "LINKTYPE_BLUETOOTH_LE_LL"},
    {252, "LINKTYPE_WIRESHARK_UPPER_PDU"},
    {253, "LINKTYPE_NETLINK"},
    {254, "LINKTYPE_BLUETOOTH_LINUX_MONITOR"},
    {255, "LINKTYPE_BLUETOOTH_BREDR_BB"},
    {256, "LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR"},
    {257, "LINKTYPE_PROFIBUS_DL"},
    {258, "LINKTYPE_PKTAP"},
    {259, "LINKTYPE_EPON"},
    {260, "LINKTYPE_IPMI_HPM_2"},
    {261, "LINKTYPE_ZWAVE_R1_R2"},
    {262, "LINKTYPE_ZWAVE_R3"},
    {263, "LINKTYPE_WATTSTOPPER_DLM"},
    {264, "LINKTYPE_ISO_14443"},
    {265, "LINKTYPE_RDS"},
    {266, "LINKTYPE_USB_DARWIN"},
    {267, "LINKTYPE_OPENFLOW"},
    {268, "LINKTYPE_SDLC"},
    {269, "LINKTYPE_TI_LLN_SNIFFER"},
    {270, "LINKTYPE_LORATAP"},
    {271, "LINKTYPE_VSOCK"},
    {272, "LINKTYPE_NORDIC_BLE"},
    {273, "LINKTYPE_DOCSIS31_XRA31"},
    {274, "LINKTYPE_ETHERNET_MPACKET"},
    {275, "LINKTYPE_DISPLAYPORT_AUX"},
    {276, "LINKTYPE_LINUX_SLL2"},
    {277, "LINKTYPE_SERCOS_MONITOR"},
    {278, "LINKTYPE_OPENVIZSLA"},
    {279, "LINKTYPE_EBHSCR"},
    {280, "LINKTYPE_VPP_DISPATCH"},
    {281, "LINKTYPE_DSA_TAG_BRCM"},
    {282, "LINKTYPE_DSA_TAG_BRCM_PREPEND"},
    {283, "LINKTYPE_IEEE802_15_4_TAP"},
    {284, "LINKTYPE_DSA_TAG_DSA"},
    {285, "LINKTYPE_DSA_TAG_EDSA"},
    {286, "LINKTYPE_ELEE"},
    {287, "LINKTYPE_Z_WAVE_SERIAL"},
    {288, "LINKTYPE_USB_2_0"},
    {289, "LINKTYPE_ATSC_ALP"},
};

// "LINKTYPE_USER0" for 147; nullptr for a value with no registered name.
constexpr const char* link_type_name(uint32_t value) {
  size_t lo = 0, hi = sizeof(kLinkTypeNames) / sizeof(kLinkTypeNames[0]);
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (kLinkTypeNames[mid].value == value) return kLinkTypeNames[mid].name;
    if (kLinkTypeNames[mid].value < value) lo = mid + 1; else hi = mid;
  }
  return nullptr;
}

// Writes "147 (LINKTYPE_USER0)" (or "999 (unregistered)") into buf, for error messages.
inline const char* describe_link_type(uint32_t value, char* buf, size_t size) {
  const char* name = link_type_name(value);
  std::snprintf(buf, size, "%u (%s)", value, name ? name : "unregistered");
  return buf;
}

}  // namespace sgfw::capture

// The pure planning of a config-entry restore: identity, comparison without Consul's index
// fields, and the order of kinds.

#include "ops/config_entries.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace csnap::ops {
namespace {

using nlohmann::json;

json entry(std::string kind, std::string name, const json& fields = json::object(),
           std::uint64_t index = 10) {
  json result = {{"Kind", std::move(kind)},
                 {"Name", std::move(name)},
                 {"CreateIndex", index},
                 {"ModifyIndex", index}};
  result.update(fields);
  return result;
}

std::vector<std::string> actions(const std::vector<PlannedObject>& planned) {
  std::vector<std::string> result;
  result.reserve(planned.size());
  for (const auto& object : planned)
    result.push_back(object.label + ": " + std::string(to_string(object.action)));
  return result;
}

TEST(ConfigEntryPlan, IndexFieldsAndHashAreNotCompared) {
  auto backup = entry("service-defaults", "web", {{"Protocol", "http"}, {"Hash", 1}}, 18);
  // Live: the same entry written again later (other indexes), with the empty objects Consul adds.
  auto live = entry("service-defaults", "web",
                    {{"Protocol", "http"}, {"MeshGateway", json::object()}, {"Hash", 2}}, 97);
  KindPlan summary;
  auto planned = plan_config_objects(json::array({backup}), json::array({live}), summary);
  ASSERT_EQ(planned.size(), 1U);
  EXPECT_EQ(planned[0].action, RestoreAction::unchanged);
  EXPECT_EQ(summary.unchanged, 1U);

  live["Protocol"] = "tcp";
  summary = {};
  planned = plan_config_objects(json::array({backup}), json::array({live}), summary);
  ASSERT_EQ(planned.size(), 1U);
  EXPECT_EQ(planned[0].action, RestoreAction::update);
  EXPECT_EQ(planned[0].live_index, 97U) << "an update is checked against the live ModifyIndex";
  EXPECT_EQ(summary.update, 1U);
}

TEST(ConfigEntryPlan, TheBodyHasNoBookkeeping) {
  auto body = config_entry_body(entry("service-router", "web", {{"Hash", 5}, {"Routes", {1}}}));
  EXPECT_FALSE(body.contains("CreateIndex"));
  EXPECT_FALSE(body.contains("ModifyIndex"));
  EXPECT_FALSE(body.contains("Hash"));
  EXPECT_EQ(body["Routes"], json::array({1}));
  EXPECT_EQ(body["Kind"], "service-router");
}

TEST(ConfigEntryPlan, EntriesAreKnownByKindPartitionNamespaceAndName) {
  // Same name, other kind or namespace: different entries.
  auto backup = json::array({entry("service-defaults", "web"), entry("service-router", "web"),
                             entry("service-defaults", "web", {{"Namespace", "team-a"}})});
  auto live = json::array({entry("service-defaults", "web", {{"Protocol", "grpc"}})});
  KindPlan summary;
  auto planned = plan_config_objects(backup, live, summary);
  EXPECT_EQ(actions(planned), (std::vector<std::string>{
                                  "service-defaults web: update",
                                  "service-defaults web (partition -, namespace team-a): create",
                                  "service-router web: create",
                              }));
  EXPECT_EQ(summary.create, 2U);
  EXPECT_EQ(summary.update, 1U);
}

TEST(ConfigEntryPlan, KindsAreRestoredInDependencyOrder) {
  // The backup's own order (the member's: by Kind name) is not the restore order.
  auto backup = json::array({
      entry("exported-services", "default"),
      entry("ingress-gateway", "ingress"),
      entry("made-up-kind", "x"),
      entry("proxy-defaults", "global"),
      entry("service-defaults", "web"),
      entry("service-intentions", "web"),
      entry("service-resolver", "web"),
      entry("service-router", "web"),
      entry("service-splitter", "web"),
  });
  KindPlan summary;
  auto planned = plan_config_objects(backup, json::array(), summary);
  std::vector<std::string> order;
  order.reserve(planned.size());
  for (const auto& object : planned)
    order.push_back(json_text(object.object, "Kind"));
  EXPECT_EQ(order,
            (std::vector<std::string>{"proxy-defaults", "service-defaults", "service-resolver",
                                      "service-splitter", "service-router", "ingress-gateway",
                                      "service-intentions", "exported-services", "made-up-kind"}));
  EXPECT_LT(config_restore_rank("service-defaults"), config_restore_rank("service-router"));
  EXPECT_LT(config_restore_rank("jwt-provider"), config_restore_rank("service-intentions"));
  EXPECT_LT(config_restore_rank("inline-certificate"), config_restore_rank("api-gateway"));
  EXPECT_EQ(config_restore_rank("made-up-kind"), std::size(kConfigEntryKinds));
}

TEST(ConfigEntryPlan, EntriesThatCannotBeWrittenAreSkippedWithAReason) {
  auto backup = json::array({
      entry("bound-api-gateway", "gw"),  // Consul's controller writes it
      json{{"Name", "web"}},             // no Kind
      json{{"Kind", "mesh"}},            // the mesh entry has no Name
      entry("service-defaults", "web"),
      entry("service-defaults", "web", {{"Protocol", "x"}}),  // a second "web"
  });
  KindPlan summary;
  auto planned = plan_config_objects(backup, json::array(), summary);
  EXPECT_EQ(summary.create, 2U) << "service-defaults web and mesh";
  EXPECT_EQ(summary.skip, 3U);
  ASSERT_EQ(summary.notes.size(), 3U);
  // In restore order: the second "web" (a service-defaults), then the kinds not in the table.
  EXPECT_NE(summary.notes[0].find("a second entry"), std::string::npos) << summary.notes[0];
  EXPECT_NE(summary.notes[1].find("no Kind"), std::string::npos) << summary.notes[1];
  EXPECT_NE(summary.notes[2].find("controller"), std::string::npos) << summary.notes[2];
}

TEST(ConfigEntryPlan, TheMemberOrderIsKindPartitionNamespaceName) {
  EXPECT_TRUE(config_entry_less(entry("a", "z"), entry("b", "a")));
  EXPECT_TRUE(config_entry_less(entry("a", "z", {{"Namespace", "n1"}}),
                                entry("a", "a", {{"Namespace", "n2"}})));
  EXPECT_TRUE(config_entry_less(entry("a", "a"), entry("a", "b")));
  EXPECT_FALSE(config_entry_less(entry("a", "a"), entry("a", "a")));
}

}  // namespace
}  // namespace csnap::ops

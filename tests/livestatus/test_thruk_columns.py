"""Every column Thruk's Livestatus backend asks for by default exists (an unknown column is a
400 here, so a missing one would break its pages), and the tactical overview's kind of Stats
query answers."""

from __future__ import annotations

import pytest
from lsclient import query, rows
from lssite import Site

pytestmark = pytest.mark.integration

HOSTS = """
accept_passive_checks acknowledged action_url action_url_expanded active_checks_enabled address
alias check_command check_freshness check_interval check_options check_period check_type
checks_enabled childs comments current_attempt current_notification_number event_handler
event_handler_enabled execution_time custom_variable_names custom_variable_values
first_notification_delay flap_detection_enabled groups has_been_checked high_flap_threshold
icon_image icon_image_alt icon_image_expanded is_executing is_flapping last_check
last_notification last_state_change latency low_flap_threshold max_check_attempts name
next_check notes notes_expanded notes_url notes_url_expanded notification_interval
notification_period notifications_enabled num_services_crit num_services_ok
num_services_pending num_services_unknown num_services_warn num_services obsess_over_host
parents percent_state_change perf_data plugin_output process_performance_data retry_interval
scheduled_downtime_depth state state_type modified_attributes_list last_time_down
last_time_unreachable last_time_up display_name in_check_period in_notification_period
contacts contact_groups long_plugin_output services
"""
SERVICES = """
accept_passive_checks acknowledged action_url action_url_expanded active_checks_enabled
check_command check_interval check_options check_period check_type checks_enabled comments
current_attempt current_notification_number description event_handler event_handler_enabled
custom_variable_names custom_variable_values execution_time first_notification_delay
flap_detection_enabled groups has_been_checked high_flap_threshold host_acknowledged
host_action_url_expanded host_active_checks_enabled host_address host_alias
host_checks_enabled host_check_type host_latency host_plugin_output host_perf_data
host_current_attempt host_check_command host_comments host_groups host_has_been_checked
host_icon_image_expanded host_icon_image_alt host_is_executing host_is_flapping host_notes
host_name host_notes_url_expanded host_notifications_enabled host_scheduled_downtime_depth
host_state host_accept_passive_checks host_last_state_change icon_image icon_image_alt
icon_image_expanded is_executing is_flapping last_check last_notification last_state_change
latency low_flap_threshold max_check_attempts next_check notes notes_expanded notes_url
notes_url_expanded notification_interval notification_period notifications_enabled
obsess_over_service percent_state_change perf_data plugin_output process_performance_data
retry_interval scheduled_downtime_depth state state_type modified_attributes_list
last_time_critical last_time_ok last_time_unknown last_time_warning display_name
host_display_name host_custom_variable_names host_custom_variable_values in_check_period
in_notification_period host_parents contacts contact_groups long_plugin_output
"""
GROUP_COUNTS = """
num_services num_services_hard_crit num_services_hard_ok num_services_hard_unknown
num_services_hard_warn num_services_crit num_services_ok num_services_pending
num_services_unknown num_services_warn worst_service_state
"""
TABLES = {
    "hosts": HOSTS,
    "services": SERVICES,
    "hostgroups": "name alias members num_hosts num_hosts_down num_hosts_pending "
    "num_hosts_unreach num_hosts_up worst_host_state worst_service_hard_state " + GROUP_COUNTS,
    "servicegroups": "name alias members " + GROUP_COUNTS,
    "contacts": "name alias email pager service_notification_period host_notification_period "
    "can_submit_commands",
    "log": "class time type state host_name service_description plugin_output message options "
    "state_type contact_name",
    "status": "accept_passive_host_checks accept_passive_service_checks check_external_commands "
    "check_host_freshness check_service_freshness enable_event_handlers enable_flap_detection "
    "enable_notifications execute_host_checks execute_service_checks last_command_check "
    "last_log_rotation livestatus_version nagios_pid obsess_over_hosts obsess_over_services "
    "process_performance_data program_start program_version interval_length",
}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_thruk_default_columns_exist(site: Site, table: str) -> None:
    columns = " ".join(TABLES[table].split())
    code, body = query(
        site.socket, f"GET {table}\nColumns: {columns}\nLimit: 5\nOutputFormat: json"
    )
    assert code == 200, body
    width = len(columns.split())
    assert all(len(row) == width for row in rows(site.socket, f"GET {table}\nColumns: {columns}"))


def test_contact_groups_of_a_user(site: Site) -> None:
    got = rows(site.socket, "GET contactgroups\nColumns: name\nFilter: members >= admin")
    assert got == [["ops"]]

"""Command lines and macros: split once, expand per word, never inject or split arguments."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookout.domain.commands import (
    DEFAULT_USER1,
    Command,
    CommandLineError,
    arg_macros,
    expand,
    host_macros,
    parse_resource,
    resource_macros,
    split_command_line,
)

CHECK_TCP = "$USER1$/check_tcp -H $HOSTADDRESS$ -p $ARG1$"


def test_a_command_line_is_split_like_a_shell_would() -> None:
    line = "/usr/lib/nagios/plugins/check_http -H $HOSTADDRESS$ -s 'hello world' -u \"/a b\""
    assert split_command_line(line) == (
        "/usr/lib/nagios/plugins/check_http",
        "-H",
        "$HOSTADDRESS$",
        "-s",
        "hello world",
        "-u",
        "/a b",
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("check_tcp -p 22", "must be an absolute path"),
        ("$HOSTADDRESS$/x", "must be an absolute path"),
        ("$USER1$", "must be an absolute path"),
        ("/bin/echo 'unclosed", "cannot be split into words: No closing quotation"),
        ("/x " + "a" * 5000, "at most 4096"),
    ],
)
def test_unusable_command_lines_say_why(line: str, message: str) -> None:
    with pytest.raises(CommandLineError, match=message):
        split_command_line(line)


def test_macros_are_expanded_in_each_word() -> None:
    argv = split_command_line(CHECK_TCP + " -s $SERVICEDESC$ -x $HOSTNAME$.$HOSTALIAS$ -c 5$$")
    macros = {
        **host_macros("web1", "10.0.0.1"),
        "SERVICEDESC": "SSH port",
        **arg_macros(["22"]),
        "USER1": "/opt/plugins",
    }
    assert expand(argv, macros) == (
        "/opt/plugins/check_tcp",
        "-H",
        "10.0.0.1",
        "-p",
        "22",
        "-s",
        "SSH port",
        "-x",
        "web1.web1",
        "-c",
        "5$",
    )


def test_a_host_without_address_uses_its_name() -> None:
    assert host_macros("web1", "")["HOSTADDRESS"] == "web1"


def test_a_hostile_address_stays_one_argument() -> None:
    argv = split_command_line(CHECK_TCP)
    hostile = "x -w 1; rm -rf /"
    out = expand(argv, {"USER1": "/p", "HOSTADDRESS": hostile, "ARG1": "$(reboot) `id` $ARG1$"})
    assert out == ("/p/check_tcp", "-H", hostile, "-p", "$(reboot) `id` $ARG1$")


def test_missing_args_drop_their_word_unknown_macros_stay() -> None:
    argv = split_command_line("/p/check_x -a $ARG1$ $ARG2$ -b x$ARG3$ $NOPE$ $ARG99$")
    assert expand(argv, {"ARG1": "1"}) == ("/p/check_x", "-a", "1", "-b", "x", "$NOPE$", "$ARG99$")


def test_too_many_args_are_refused() -> None:
    with pytest.raises(ValueError, match="at most 32"):
        arg_macros(["x"] * 33)


def test_resource_file() -> None:
    text = "# comment\n$USER1$=/usr/lib/nagios/plugins\n\n $USER3$ = secret value \n$USER999$=x\n"
    assert parse_resource(text) == {"USER1": "/usr/lib/nagios/plugins", "USER3": "secret value"}
    assert resource_macros(None) == {"USER1": DEFAULT_USER1}
    assert resource_macros("") == {}


def test_command_parse_keeps_the_line() -> None:
    command = Command.parse("check_tcp", CHECK_TCP)
    assert command.argv[0] == "$USER1$/check_tcp"
    assert command.line == CHECK_TCP


WORD = st.text(alphabet=st.sampled_from("ab -;'\"$`|&()\\\n\t*"), max_size=12)
MACRO_NAMES = ["HOSTNAME", "HOSTADDRESS", "HOSTALIAS", "SERVICEDESC", "ARG1", "ARG2", "USER1"]


@given(
    template=st.lists(
        st.one_of(st.sampled_from([f"${n}$" for n in MACRO_NAMES]), st.just("-x")),
        min_size=1,
        max_size=8,
    ),
    values=st.fixed_dictionaries({name: WORD.filter(bool) for name in MACRO_NAMES}),
)
def test_no_macro_value_adds_splits_or_reexpands_words(
    template: list[str], values: dict[str, str]
) -> None:
    argv = ("/p/check", *template)
    out = expand(argv, values)
    assert len(out) == len(argv)
    for word, result in zip(argv, out, strict=True):
        expected = values[word.strip("$")] if word.startswith("$") else word
        assert result == expected

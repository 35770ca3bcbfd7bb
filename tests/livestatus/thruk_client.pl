#!/usr/bin/perl
# Queries a Livestatus socket with Monitoring::Livestatus (the library Thruk is built on) and
# prints what it got as one JSON object, for tests/livestatus/test_perl_client.py.
use strict;
use warnings;
use Cpanel::JSON::XS;
use Monitoring::Livestatus;

my ($socket, $command) = @ARGV;
my %out;
for my $keepalive (0, 1) {
    my $ml = Monitoring::Livestatus->new(
        socket => $socket, keepalive => $keepalive, errors_are_fatal => 0, warnings => 0,
    );
    my $tag = $keepalive ? "keepalive" : "plain";
    $out{$tag}{services} = $ml->selectall_arrayref(
        "GET services\nColumns: host_name description state plugin_output groups",
        { Slice => {} },
    );
    $out{$tag}{stats} = $ml->selectrow_arrayref(
        "GET services\nStats: state = 0\nStats: state = 1\nStats: state = 2\nStats: state = 3"
    );
    $out{$tag}{hosts} = $ml->selectcol_arrayref("GET hosts\nColumns: name");
    my $none = $ml->selectall_arrayref("GET nosuch\nColumns: name");
    $out{$tag}{error} = [$Monitoring::Livestatus::ErrorCode, $Monitoring::Livestatus::ErrorMessage];
}
if ($command) {
    my $ml = Monitoring::Livestatus->new(socket => $socket, errors_are_fatal => 0);
    $ml->do($command);
    $out{command} = [$Monitoring::Livestatus::ErrorCode, $Monitoring::Livestatus::ErrorMessage];
}
print Cpanel::JSON::XS->new->canonical->allow_nonref->encode(\%out), "\n";

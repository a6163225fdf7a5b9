#!/usr/bin/perl
# Independent DKIM/ARC verifier for cross-checks: Perl's Mail::DKIM (Debian libmail-dkim-perl),
# asking only the LabDNS at HOST PORT. Reads a message on stdin.
# Output, one line per signature: "dkim <domain> <selector> <result>", then "arc <result>".
use strict;
use warnings;
use Net::DNS;
use Mail::DKIM::DNS;
use Mail::DKIM::Verifier;
use Mail::DKIM::ARC::Verifier;

my ($host, $port) = @ARGV;
my $res = Net::DNS::Resolver->new(nameservers => [$host], port => $port, recurse => 0,
                                  udp_timeout => 2, tcp_timeout => 2, retry => 1);
Mail::DKIM::DNS::resolver($res);

local $/;
my $raw = <STDIN>;
$raw =~ s/\r?\n/\r\n/g;

my $dkim = Mail::DKIM::Verifier->new();
$dkim->PRINT($raw);
$dkim->CLOSE();
foreach my $sig ($dkim->signatures) {
    printf "dkim %s %s %s (%s)\n", ($sig->domain // "-"), ($sig->selector // "-"), $sig->result, ($sig->result_detail // "");
}
my $arc = Mail::DKIM::ARC::Verifier->new();
$arc->PRINT($raw);
$arc->CLOSE();
printf "arc %s\n", $arc->result;

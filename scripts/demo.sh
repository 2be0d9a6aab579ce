#!/usr/bin/env bash
# Installs what is missing, builds, and runs the headline demo: a Manager
# whose dict and list a child process changes, printed as Python prints them.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
install_missing_packages
configure_and_build
echo "== examples/manager_dict_list"
"$BUILD/examples/manager_dict_list"

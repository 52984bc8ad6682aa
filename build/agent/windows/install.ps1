<#
.SYNOPSIS
  Install the NinjaIT agent on Windows: a task that starts at boot as SYSTEM, restarts the agent
  whenever it exits, and enrolls it with the appliance's install line.

.DESCRIPTION
  Not run by the test suite (there is no Windows here); it mirrors the Linux package:
  binary in "C:\Program Files\NinjaIT Agent", state (configuration, secret, queue) in
  "C:\ProgramData\NinjaIT Agent" readable by SYSTEM and Administrators only.

  Why not a Windows service created with sc.exe: the Service Control Manager only keeps
  programs that speak its protocol (StartServiceCtrlDispatcher, status reports). The agent
  is a console program; registered with sc.exe it is killed after 30 s with error 1053.
  NSSM or WinSW would wrap it, but they are third-party downloads to trust. Instead, a
  scheduled task starts at boot as SYSTEM and runs supervise.ps1 (written next to the
  binary), a loop that plays systemd's Restart=always: when the agent exits (75 after it
  swapped in an update or restored the previous build, anything after a crash) it starts
  it again 5 s later; after exit 3 (the appliance revoked this agent) it stops.

  The agent's self-update works on Windows as on Linux except for one step: a running
  .exe can be renamed but not overwritten, so the agent renames itself to
  ninjait-agent.exe.previous before moving the new build into place.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File install.ps1 -Binary .\ninjait-agent.exe `
    -Server https://appliance:8443 -Token nie_... -Fingerprint AB:CD:...

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File install.ps1 -Uninstall -Purge
#>
[CmdletBinding(DefaultParameterSetName = 'Install')]
param(
  [Parameter(ParameterSetName = 'Install', Mandatory = $true)] [string] $Binary,
  [Parameter(ParameterSetName = 'Install')] [string] $Server,
  [Parameter(ParameterSetName = 'Install')] [string] $Token,
  [Parameter(ParameterSetName = 'Install')] [string] $Fingerprint,
  [Parameter(ParameterSetName = 'Install')] [switch] $NoScripts,
  [Parameter(ParameterSetName = 'Uninstall', Mandatory = $true)] [switch] $Uninstall,
  [Parameter(ParameterSetName = 'Uninstall')] [switch] $Purge
)
$ErrorActionPreference = 'Stop'

$TaskName = 'NinjaIT Agent'
$InstallDir = Join-Path $env:ProgramFiles 'NinjaIT Agent'
$StateDir = Join-Path $env:ProgramData 'NinjaIT Agent'
$Exe = Join-Path $InstallDir 'ninjait-agent.exe'
$Supervisor = Join-Path $InstallDir 'supervise.ps1'

$admin = [Security.Principal.WindowsPrincipal]::new([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $admin.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  throw 'install.ps1: run it from an elevated PowerShell (Run as administrator)'
}

function Stop-Agent {
  if (Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue) {
    Stop-ScheduledTask -TaskName $TaskName
  }
  # Ending the task ends the supervisor, not necessarily the agent it started.
  Get-Process -Name 'ninjait-agent' -ErrorAction SilentlyContinue |
    Where-Object { $_.Path -and $_.Path.StartsWith($InstallDir, [StringComparison]::OrdinalIgnoreCase) } |
    Stop-Process -Force
}

if ($Uninstall) {
  Stop-Agent
  if (Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue) {
    Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false
  }
  Remove-Item -Recurse -Force $InstallDir -ErrorAction SilentlyContinue
  if ($Purge) { Remove-Item -Recurse -Force $StateDir -ErrorAction SilentlyContinue }
  Write-Output "removed the NinjaIT agent$(if ($Purge) { ' and its state' })"
  return
}

if (-not (Test-Path $Binary -PathType Leaf)) { throw "install.ps1: $Binary does not exist" }
Stop-Agent
New-Item -ItemType Directory -Force -Path $InstallDir, $StateDir | Out-Null
Copy-Item -Force $Binary $Exe
# The state directory holds the agent's secret: SYSTEM and Administrators only, nothing inherited.
# (SIDs, not names: the names are translated on non-English Windows.)
& icacls.exe $StateDir /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls failed on $StateDir" }

@'
# Written by install.ps1: keeps the NinjaIT agent running, like systemd's Restart=always.
$exe = Join-Path $PSScriptRoot 'ninjait-agent.exe'
$state = Join-Path $env:ProgramData 'NinjaIT Agent'
$log = Join-Path $state 'agent.log'
while ($true) {
  if ((Test-Path $log) -and (Get-Item $log).Length -gt 10MB) { Move-Item -Force $log "$log.1" }
  # cmd.exe appends stderr (the agent's log) to the file and passes the exit status through.
  & cmd.exe /d /c "`"$exe`" --state-dir `"$state`" run 2>> `"$log`""
  $code = $LASTEXITCODE
  if ($code -eq 3) { break }  # revoked by the appliance: starting again would only repeat the refusal
  Start-Sleep -Seconds 5      # 75: an update (or a rollback) is in place; anything else: a crash
}
'@ | Set-Content -Encoding UTF8 -Path $Supervisor

if ($Server -and $Token) {
  $enroll = @('--state-dir', $StateDir, 'enroll', '--server', $Server, '--token', $Token)
  if ($Fingerprint) { $enroll += @('--fingerprint', $Fingerprint) }
  if ($NoScripts) { $enroll += '--no-scripts' }
  & $Exe @enroll
  if ($LASTEXITCODE -ne 0) { throw "enrollment failed (exit $LASTEXITCODE)" }
}

$action = New-ScheduledTaskAction -Execute 'powershell.exe' `
  -Argument "-NoProfile -NonInteractive -ExecutionPolicy Bypass -WindowStyle Hidden -File `"$Supervisor`""
$trigger = New-ScheduledTaskTrigger -AtStartup
$principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
# No time limit; if the supervisor itself dies, Task Scheduler starts it again.
$settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) -RestartCount 999 `
  -RestartInterval (New-TimeSpan -Minutes 1) -StartWhenAvailable -MultipleInstances IgnoreNew `
  -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries
Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Principal $principal `
  -Settings $settings -Force | Out-Null

if (Test-Path (Join-Path $StateDir 'config.json')) {
  Start-ScheduledTask -TaskName $TaskName
  Write-Output "the NinjaIT agent runs (log: $StateDir\agent.log)"
} else {
  Write-Output 'installed; enroll by running install.ps1 again with -Server, -Token and -Fingerprint'
}

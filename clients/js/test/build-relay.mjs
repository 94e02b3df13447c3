// Builds what the tests start for real: the relay (src/Relay) and the .NET SDK interop helper. Incremental,
// so a second run takes seconds. Skipped for the relay when CONTEXTRELAY_RELAY_DLL points at a built one.
import { execFileSync } from 'node:child_process';
import { relayDll, repoRoot, interopProject } from './support/relay.mjs';

const build = (project) => {
  console.log(`build: dotnet build ${project}`);
  execFileSync('dotnet', ['build', project, '-nologo', '-v', 'q', '-clp:ErrorsOnly'], { cwd: repoRoot, stdio: 'inherit' });
};
if (!process.env.CONTEXTRELAY_RELAY_DLL) build('src/Relay/ContextRelay.Relay.csproj');
build(interopProject);
console.log(`build: relay ${relayDll}`);

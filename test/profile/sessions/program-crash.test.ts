/** Telling a program's crash from the session's own stops, in a tool's output and in an exit status. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crashSignalInLine, crashSignalOfExit, programCrashed } from '../../../src/profile/sessions/program-crash.js';

describe('program crash', () => {
  test("clinic's line names the crash signal; the stops the session sends are no crash", () => {
    assert.equal(crashSignalInLine('process exited by signal SIGSEGV'), 'SIGSEGV');
    assert.equal(crashSignalInLine('process exited by signal SIGABRT'), 'SIGABRT');
    assert.equal(crashSignalInLine('process exited by signal SIGBUS'), 'SIGBUS');
    // Sent by the session (stop, or the kill after --stop-timeout): not a crash.
    assert.equal(crashSignalInLine('process exited by signal SIGINT'), undefined);
    assert.equal(crashSignalInLine('process exited by signal SIGKILL'), undefined);
    assert.equal(crashSignalInLine('process exited with exit code 1'), undefined);
    assert.equal(crashSignalInLine('Error: No files matching the pattern found'), undefined);
  });

  test("a program's own exit: crash signals only", () => {
    assert.equal(crashSignalOfExit({ code: null, signal: 'SIGSEGV' }), 'SIGSEGV');
    assert.equal(crashSignalOfExit({ code: null, signal: 'SIGILL' }), 'SIGILL');
    assert.equal(crashSignalOfExit({ code: null, signal: 'SIGKILL' }), undefined);
    assert.equal(crashSignalOfExit({ code: null, signal: 'SIGTERM' }), undefined);
    assert.equal(crashSignalOfExit({ code: 1, signal: null }), undefined);
    assert.equal(crashSignalOfExit({ code: 0, signal: null }), undefined);
  });

  test('the error: its code, the signal, the tool and what was lost', () => {
    const err = programCrashed('clinic-bubbleprof', 'SIGSEGV', 'clinic bubbleprof wrote no report');
    assert.equal(err.code, 'SVC_ERR_PROFILE_PROGRAM_CRASHED');
    assert.equal(err.exitCode, 1);
    assert.match(
      err.message,
      /^the program crashed \(SIGSEGV\) under clinic-bubbleprof: clinic bubbleprof wrote no report; removed the capture;/,
    );
  });
});

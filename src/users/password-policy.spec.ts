import { MIN_CONTAINED_NAME_LENGTH, passwordProblems } from './password-policy';

const problemsOf = (password: string, owner = {}) => passwordProblems(password, owner, 'secret').map((detail) => detail.problem);

describe('passwordProblems', () => {
  it('refuses passwords of the common list in any case, and accepts others', () => {
    for (const common of ['password', '12345678', 'QWERTY123', 'iLoveYou', 'password1']) expect(problemsOf(common)).toEqual([expect.stringContaining('most common')]);
    expect(problemsOf('correct-horse-battery')).toEqual([]);
  });

  it('refuses a password equal to the e-mail address before the @ or to the username, whatever their length', () => {
    expect(problemsOf('Jo', { email: 'jo@example.com' })).toEqual([expect.stringContaining('e-mail address')]);
    expect(problemsOf('AL', { username: 'al' })).toEqual([expect.stringContaining('username')]);
  });

  it(`refuses a password containing a name of ${MIN_CONTAINED_NAME_LENGTH} characters or more, but not a shorter one`, () => {
    expect(problemsOf('my-Lena-forever', { email: 'lena@example.com' })).toEqual([expect.stringContaining('e-mail address')]);
    expect(problemsOf('bobsleigh-team', { email: 'bob@example.com', username: 'bob' })).toEqual([]);
    expect(problemsOf('x-Grace_H-1', { email: 'grace_h@example.com', username: 'grace_h' })).toHaveLength(2);
  });

  it('gives every field the same name, so clients can show the reasons beside it', () => {
    expect(passwordProblems('password', { username: 'password' }, 'new_secret')).toEqual([
      { field: 'new_secret', problem: expect.any(String) },
      { field: 'new_secret', problem: expect.any(String) },
    ]);
  });
});

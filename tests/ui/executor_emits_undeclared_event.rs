// `DepositMoney` emits only `MoneyDeposited`; this executor tries `MoneyWithdrawn`.
use eskema_demo::bank::*;

fn deposit(command: &DepositMoney) -> Result<Vec<DepositMoneyEmits>, BankAccountError> {
    Ok(vec![
        MoneyWithdrawn {
            account_number: command.account_number.clone(),
            withdrawal_id: eskema::uuid::Uuid::nil(),
            amount: command.amount,
            balance: 0,
        }
        .into(),
    ])
}

fn main() {
    let _ = deposit;
}
